"""Expensive archives built once per test run and shared by every pytest-xdist worker.

Several test files read the same archive (the ICE scenario, the demo's story). Built once per worker, each costs a
few crawls four times over on a two-core machine; built once per run, the other workers wait on a file lock
(pytest-xdist's documented way to share session data). What is built is read only: a test that changes an
archive copies it first (``shutil.copytree``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``build`` filled, built by whichever worker asks first; a build that failed half-way is redone."""
    base = tmp_path_factory.getbasetemp()
    run_dir = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the parent is this run's, shared
    folder = run_dir / f"built-{name}"
    done = run_dir / f"built-{name}.done"
    with FileLock(run_dir / f"built-{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


def demo_story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """``foiawatch demo --no-serve --json`` run once with nothing but $FOIAWATCH_DATA, as a reader would: its data
    directory (``foiawatch-data``) and its JSON report."""

    def build(folder: Path) -> None:
        from click.testing import CliRunner

        from foiawatch.cli import cli

        result = CliRunner().invoke(cli, ["demo", "--no-serve", "--json"],
                                    env={"FOIAWATCH_DATA": str(folder / "foiawatch-data")})
        assert result.exit_code == 0, result.output
        (folder / "report.json").write_text(result.stdout)

    folder = built_once(tmp_path_factory, "demo-story", build)
    return folder / "foiawatch-data", json.loads((folder / "report.json").read_text())
