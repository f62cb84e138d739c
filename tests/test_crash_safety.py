"""Crash safety (issue 7, part 5): SIGKILL a crawl or a diff at seeded points of the 2017 takedown scenario; the
next run completes, the database passes ``PRAGMA integrity_check``, and the events are exactly those of an
undisturbed run: none lost, none duplicated.

CI runs a few seeds; ``bench/faults.py`` runs fifty and more with the same harness.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from foiawatch.demo.faults import CRASH_STEPS, FaultHarness

CI_CRASH_POINTS = 6
LANES = 2


@pytest.fixture(scope="module")
def harnesses(tmp_path_factory):
    lanes = [FaultHarness(tmp_path_factory.mktemp(f"crash-lane{n}")) for n in range(LANES)]
    with ThreadPoolExecutor(LANES) as pool:
        list(pool.map(lambda harness: harness.reference, lanes))
    yield lanes
    for harness in lanes:
        harness.close()


def test_the_reference_run_is_the_takedown(harnesses):
    kinds = {kind for kind, *_ in harnesses[0].reference.events}
    assert kinds == {"removed", "section_removed", "page_text_removed"}
    assert len(harnesses[0].reference.snapshots) == len(CRASH_STEPS)


def test_seeded_kills_of_crawl_and_diff_lose_and_duplicate_nothing(harnesses):
    seeds = list(range(CI_CRASH_POINTS))

    def lane(index):
        return [harnesses[index].crash_point(seed) for seed in seeds[index::LANES]]

    with ThreadPoolExecutor(LANES) as pool:
        results = [result for results in pool.map(lane, range(LANES)) for result in results]

    assert {r.phase for r in results} == {"crawl", "diff"}
    assert sum(r.killed for r in results) >= CI_CRASH_POINTS // 2, "most kills must land before the end"
    for result in results:
        assert result.integrity == "ok", result
        assert result.final_status == "complete", result
        assert result.left_running == 0, result
        assert result.lost_events == [] and result.duplicated_events == [], result
        assert result.fixity_problems == [], result
