"""Crash safety (issue 7, part 5): SIGKILL a crawl or a diff at seeded points of the 2017 takedown scenario, the
alerts run that follows it, or a Wayback recovery of documents removed before monitoring; the next run completes,
the databases pass ``PRAGMA integrity_check``, and the outcome is exactly that of an undisturbed run: no event lost
or duplicated, no alert lost or sent twice, no recovered copy lost or stored twice.

CI runs a few seeds; ``bench/faults.py`` runs fifty and more with the same harness.
"""

from __future__ import annotations

from .conftest import run_seeds
from .support.faults import CRASH_PHASES, CRASH_STEPS, SUBSCRIBERS, FaultHarness

CI_CRASH_POINTS = 6


def test_the_reference_runs_are_the_takedown_its_alerts_and_a_recovery(harnesses):
    kinds = {kind for kind, *_ in harnesses[0].reference.events}
    assert kinds == {"removed", "section_removed", "page_text_removed"}
    assert len(harnesses[0].reference.snapshots) == len(CRASH_STEPS)
    recovered = harnesses[0].recovery_reference.recoveries
    assert len(recovered) == 20 and set(recovered.values()) == {1}  # the three Secure Communities sections
    alerts = harnesses[0].delivery_reference.alerts
    assert len(alerts) == SUBSCRIBERS * (20 + 3) and set(alerts.values()) == {1}  # removed and section_removed


def test_seeded_kills_of_crawl_diff_recovery_and_delivery_lose_and_duplicate_nothing(harnesses):
    results = run_seeds(harnesses, list(range(CI_CRASH_POINTS)), FaultHarness.crash_point)

    assert {r.phase for r in results} == set(CRASH_PHASES)
    assert sum(r.killed for r in results) >= CI_CRASH_POINTS // 2, "most kills must land before the end"
    for result in results:
        assert result.integrity == "ok", result
        assert result.final_status == "complete", result
        assert result.left_running == 0, result
        assert result.lost == [] and result.duplicated == [], result
        assert result.fixity_problems == [], result
