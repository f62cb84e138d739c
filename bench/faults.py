"""Fault injection and crash safety at full count (issue 7): seeded fault runs and SIGKILL crash points over the
demo library, with the summary the issue asks for.

    .venv/bin/python bench/faults.py [--runs 200] [--crash-points 50] [--lanes 2] [--first-seed 0]

A fault run crawls a seeded takedown of the demo library (the 2017 sections, or a few documents beside an unlisted
and an edited one; sometimes after an outage) through a proxy injecting seeded faults into 5-40 % of the requests,
then without faults until the removals are confirmed. A crash point SIGKILLs, at a seeded point, the crawl or the
diff of one step of the 2017 takedown, the alerts run after it, or a Wayback recovery; carries on; and compares the
outcome with an undisturbed run. The tests run the same harness (``tests/support/faults.py``) with a few seeds.
Exits 1 if any run or crash point failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.faults import CRASH_STEPS, CrashResult, FaultHarness, FaultRunResult  # noqa: E402

T = TypeVar("T")


def run_lanes(harnesses: list[FaultHarness], seeds: list[int], work: Callable[[FaultHarness, int], T],
              show: Callable[[T], str]) -> list[T]:
    """Spread the seeds over the harnesses, one seed at a time each, printing a line per result."""
    results: list[T] = []

    def lane(harness: FaultHarness, mine: list[int]) -> None:
        for seed in mine:
            result = work(harness, seed)
            results.append(result)
            print(f"[{len(results)}/{len(seeds)}] {show(result)}", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(len(harnesses)) as pool:
        for future in [pool.submit(lane, h, seeds[i::len(harnesses)]) for i, h in enumerate(harnesses)]:
            future.result()
    return results


def show_run(result: FaultRunResult) -> str:
    problems = {"false removals": result.false_removals, "false unlisted": result.false_unlisted,
                "missed removals": result.missed_removals, "fixity": result.fixity_problems}
    verdict = "ok" if result.ok else "FAILED " + "; ".join(f"{k}: {v}" for k, v in problems.items() if v)
    return (f"fault run {result.seed}: {result.scenario}, rate {result.rate:.2f}, {sum(result.faults.values())} "
            f"faults, crawls {'/'.join(result.statuses)} + {result.clean_crawls} clean: {verdict}")


def show_crash(result: CrashResult) -> str:
    where = f"{result.phase} of step {result.step} ({CRASH_STEPS[result.step]}) at {result.at}"
    return f"crash point {result.seed}: {where}, {'killed' if result.killed else 'finished first'}: " \
           f"{'ok' if result.ok else 'FAILED ' + repr(result)}"


def summary(runs: list[FaultRunResult], crashes: list[CrashResult], seconds: float) -> str:
    lines = []
    if runs:
        faults = sum((r.faults for r in runs), Counter())
        statuses = Counter(s for r in runs for s in r.statuses)
        seeds = sorted(r.seed for r in runs)
        lines += [
            f"Fault runs:        {len(runs)} (seeds {seeds[0]}-{seeds[-1]}): {sum(statuses.values())} crawls under "
            f"faults ({', '.join(f'{n} {s}' for s, n in statuses.most_common())}), "
            f"{sum(r.clean_crawls for r in runs)} crawls after",
            f"Faults injected:   {sum(faults.values())} ({', '.join(f'{k} {n}' for k, n in sorted(faults.items()))})",
            f"False removals:    {sum(len(r.false_removals) for r in runs)} (removed or section_removed events "
            f"not called for), in {sum(bool(r.false_removals) for r in runs)} run(s)",
            f"False unlisted:    {sum(len(r.false_unlisted) for r in runs)}, in "
            f"{sum(bool(r.false_unlisted) for r in runs)} run(s)",
            f"Corrupt blobs:     {sum(len(r.fixity_problems) for r in runs)} (fixity audit problems of any kind)",
            f"Missed removals:   {sum(len(r.missed_removals) for r in runs)} "
            f"of {sum(r.expected_removals for r in runs)} real removals",
        ]
    if crashes:
        phases = Counter(c.phase for c in crashes)
        lines += [
            f"Crash points:      {len(crashes)} ({', '.join(f'{n} {p}' for p, n in sorted(phases.items()))}; "
            f"{sum(c.killed for c in crashes)} killed, {sum(not c.killed for c in crashes)} finished first)",
            f"  integrity_check: {sum(c.integrity == 'ok' for c in crashes)} ok of {len(crashes)}",
            f"  lost:            {sum(len(c.lost) for c in crashes)}, duplicated: "
            f"{sum(len(c.duplicated) for c in crashes)} (events, alerts or recovered copies), crawls left running: "
            f"{sum(c.left_running for c in crashes)}, next run not complete: "
            f"{sum(c.final_status != 'complete' for c in crashes)}, missing/corrupt files: "
            f"{sum(len(c.fixity_problems) for c in crashes)}",
            f"  digests resent under the same Idempotency-Key: {sum(c.resent for c in crashes)} (at-least-once; "
            "not a failure)",
            "  recovered copies the next recovery left unextracted or unscreened: "
            f"{sum(c.unscreened for c in crashes)}",
        ]
    failed = [r.seed for r in runs if not r.ok], [c.seed for c in crashes if not c.ok]
    lines.append(f"Failed:            fault runs {failed[0] or 'none'}, crash points {failed[1] or 'none'}")
    lines.append(f"Wall time:         {seconds:.0f} s")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="seeded fault runs")
    parser.add_argument("--crash-points", type=int, default=50, help="seeded SIGKILL crash points")
    parser.add_argument("--lanes", type=int, default=2, help="harnesses running side by side")
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="foiawatch-faults-") as workdir:
        harnesses = [FaultHarness(Path(workdir) / f"lane{n}") for n in range(args.lanes)]
        try:
            with ThreadPoolExecutor(args.lanes) as pool:
                list(pool.map(lambda harness: harness.reference, harnesses))
            runs = run_lanes(harnesses, list(range(args.first_seed, args.first_seed + args.runs)),
                             FaultHarness.fault_run, show_run)
            crashes = run_lanes(harnesses, list(range(args.first_seed, args.first_seed + args.crash_points)),
                                FaultHarness.crash_point, show_crash)
        finally:
            for harness in harnesses:
                harness.close()
    print(summary(runs, crashes, time.monotonic() - started))
    return 0 if all(r.ok for r in runs) and all(c.ok for c in crashes) else 1


if __name__ == "__main__":
    sys.exit(main())
