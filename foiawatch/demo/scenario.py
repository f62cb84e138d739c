"""The 2017 ICE story, replayed on the demo library: the model scenario `foiawatch demo` runs and tests check.

Crawl the full library; the library goes dark ("temporarily unavailable while it undergoes review"); it comes back
without the three Secure Communities sections and with their explanatory paragraph deleted; crawl again to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..archive import Archive
from ..config import AgencyConfig, find_config
from ..crawler import CrawlResult, crawl
from ..diff.engine import run_diff

# (state preset, what a person should read while it runs)
ICE_STEPS: tuple[tuple[str, str], ...] = (
    ("v1", "the library as first published"),
    ("outage", "the library goes dark 'while it undergoes review'"),
    ("v2_takedown", "the library is back, without the Secure Communities sections"),
    ("v2_takedown", "a second look confirms the removals"),
)


@dataclass
class StepResult:
    preset: str
    description: str
    crawl: CrawlResult
    events: dict[str, int]


def demo_agency(library_url: str, wayback_url: str | None = None) -> AgencyConfig:
    """The bundled demo config pointed at a running demo site (and Wayback stand-in)."""
    config = find_config("demo")
    config = replace(config, library_urls=(library_url,))
    if wayback_url:
        host = library_url.split("://", 1)[1].split("/", 1)[0]
        config = replace(config, wayback=replace(config.wayback, base_url=wayback_url,
                                                 prefix=f"{host}/doclib/foia/"))
    return config


def run_ice_scenario(
    site, config: AgencyConfig, data_dir: Path, on_step: Callable[[StepResult], None] | None = None
) -> list[StepResult]:
    """Crawl and diff the demo site through the ICE steps; returns each step's crawl and new events."""
    results = []
    for preset, description in ICE_STEPS:
        site.set_state(preset)
        result = crawl(config, data_dir)
        with Archive(data_dir) as archive:
            diffed = run_diff(archive, config.id, confirmations=config.removal_confirmations)
        step = StepResult(preset, description, result, dict(diffed.created))
        results.append(step)
        if on_step:
            on_step(step)
    return results
