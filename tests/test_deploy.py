"""The deployment kit: a Dockerfile on a slim Python base without a browser, a compose file running the scheduler
and the public server on one volume, a systemd unit pair; every command they run parses with the command line as
it is, and .ci/run checks the files with the tools the machine has (deploy/check)."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections import defaultdict
from pathlib import Path

import click
import pytest
import yaml

from foiawatch.archive import DataDir, logs
from foiawatch.cli import cli

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def parses(argv: list[str], monkeypatch, tmp_path) -> click.Command:
    """Parse ``foiawatch ARGV`` as the command line would, without running the command."""
    monkeypatch.setenv("FOIAWATCH_DATA", str(tmp_path / "data"))
    name, *rest = argv
    command = cli.commands[name]
    command.make_context(name, rest, parent=click.Context(cli, info_name="foiawatch"))
    return command


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, value = line.split("=", 1)
        sections[section][key].append(value)
    return sections


def test_the_dockerfile_installs_the_package_on_a_slim_base_without_a_browser():
    text = (ROOT / "Dockerfile").read_text()
    instructions = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    (base,) = re.findall(r"^FROM (\S+)", text, re.M)
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base), base
    assert "pip install --no-cache-dir ." in text
    assert not re.search(r"chromium|playwright|\[test\]", instructions, re.I), "no browser at run time"
    # The one system package: Tesseract, which reads scans (issue 17).
    installs = re.findall(r"apt-get install -y --no-install-recommends ([\w\s-]+?)\s*(?:\\|&&|$)", instructions, re.M)
    assert [set(packages.split()) for packages in installs] == [{"tesseract-ocr", "tesseract-ocr-eng"}]
    assert re.search(r"^USER \d+:\d+$", text, re.M), "not root"
    assert 'ENTRYPOINT ["foiawatch"]' in text and 'CMD ["schedule"]' in text
    assert 'VOLUME ["/data"]' in text and "FOIAWATCH_DATA=/data" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored)


def test_compose_runs_the_scheduler_and_the_public_server_on_one_volume(monkeypatch, tmp_path):
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"scheduler", "web"}
    mounts = {name: service["volumes"] for name, service in services.items()}
    assert mounts == {"scheduler": ["foiawatch-data:/data"], "web": ["foiawatch-data:/data:ro"]}
    assert set(compose["volumes"]) == {"foiawatch-data"}
    for service in services.values():
        assert service["environment"]["FOIAWATCH_DATA"] == "/data" and service["restart"] == "unless-stopped"
    assert parses(services["scheduler"]["command"], monkeypatch, tmp_path).name == "schedule"
    assert parses(services["web"]["command"], monkeypatch, tmp_path).name == "serve"
    assert services["web"]["ports"] == ["127.0.0.1:8001:8001"]
    assert services["scheduler"]["stop_grace_period"] == "10m"


def test_the_systemd_units_run_the_scheduler_and_the_server(monkeypatch, tmp_path):
    assert [path.name for path in UNITS] == ["foiawatch-scheduler.service", "foiawatch-web.service"]
    commands = {}
    for path in UNITS:
        sections = unit(path)
        service = sections["Service"]
        (exec_start,) = service["ExecStart"]
        argv = shlex.split(exec_start)
        assert argv[0] == "/opt/foiawatch/venv/bin/foiawatch"
        commands[path.name] = parses(argv[1:], monkeypatch, tmp_path).name
        assert service["User"] == ["foiawatch"] and service["StateDirectory"] == ["foiawatch"]
        assert "FOIAWATCH_DATA=/var/lib/foiawatch" in service["Environment"]
        assert service["EnvironmentFile"] == ["-/etc/foiawatch/foiawatch.env"]
        assert service["Restart"] and sections["Install"]["WantedBy"] == ["multi-user.target"]
    assert commands == {"foiawatch-scheduler.service": "schedule", "foiawatch-web.service": "serve"}
    scheduler = unit(UNITS[0])
    assert scheduler["Service"]["TimeoutStopSec"] == ["10min"], "SIGTERM waits for the step in progress"
    assert "network-online.target" in scheduler["Unit"]["After"][0]


def test_ci_runs_the_readme_test_command_first_then_checks_the_kit():
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    readme = (ROOT / "README.md").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest -q" in readme
    test_command = next(i for i, line in enumerate(lines) if "pytest -q" in line)
    assert all(not line.startswith((".venv/bin/", "bash")) for line in lines[:test_command])
    assert lines[-1] == "bash deploy/check"


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "foiawatch").exists(), reason="needs the checkout's venv")
def test_deploy_check_passes_and_says_what_it_skipped():
    result = subprocess.run(["bash", str(ROOT / "deploy" / "check")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("hadolint", "systemd-analyze verify", "docker compose config", "docker build"):
        assert check in result.stdout, check


def test_a_data_directory_whose_logs_cannot_be_written_logs_to_stderr_only(tmp_path, capfd):
    root = tmp_path / "not-a-directory"
    root.write_text("a file where the data directory should be")
    logs.configure("json", 0, DataDir.at(root))
    try:
        for _ in range(3):
            logs.logging.getLogger("foiawatch.test").info("still logged")
    finally:
        logs.reset()
    err = capfd.readouterr().err
    assert err.count("cannot write log files in") == 1 and err.count('"message": "still logged"') == 3
