"""Logs with and without a terminal: a crawl run the way cron, systemd or a container runs it (stdout and stderr
pipes, no TTY) leaves log lines on stderr and in the data directory's logs/; JSON lines with --log-format json;
--quiet and --verbose on every command; progress bars only on a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from foiawatch.cli import cli

from .test_pipeline import demo_toml

ROOT = Path(__file__).resolve().parents[1]
FOIAWATCH = [sys.executable, "-c", "from foiawatch.cli import cli; cli(prog_name='foiawatch')"]


def foiawatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command line in a child process with no terminal: stdin from /dev/null, stdout and stderr pipes."""
    return subprocess.run([*FOIAWATCH, *args], cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=240, env={**os.environ, "FOIAWATCH_LOG_FORMAT": "", **(env or {})})


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_crawl_without_a_terminal_logs_json_lines_to_stderr_and_to_logs(demo_site, tmp_path):
    config, data_dir = demo_toml(demo_site.url, tmp_path), tmp_path / "data"
    result = foiawatch("--log-format", "json", "crawl", config, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    on_stderr = json_lines(result.stderr)  # every line is a JSON object: no progress bar, no stray text
    messages = [line["message"] for line in on_stderr]
    assert any(m.startswith("crawl 1 of demo started: http://127.0.0.1:") for m in messages)
    assert any(m.startswith("crawl 1 of demo finished: complete; 54 documents listed (54 new") for m in messages)
    finished = next(line for line in on_stderr if line["message"].startswith("crawl 1 of demo finished"))
    assert finished["level"] == "INFO" and finished["logger"] == "foiawatch.crawler.run"
    assert finished["agency"] == "demo" and finished["crawl_id"] == 1 and finished["status"] == "complete"
    assert datetime.fromisoformat(finished["time"]).tzinfo is not None
    assert "\x1b[" not in result.stderr, "no terminal: no progress bar, no colour"
    assert "demo" in result.stdout and "complete" in result.stdout, "the report still goes to stdout"

    logs = data_dir / "logs"
    today = datetime.now(UTC).date().isoformat()
    day_file = json_lines((logs / f"foiawatch-{today}.log").read_text())
    assert [line["message"] for line in day_file] == messages, "the same lines, in the data directory"
    crawl_file = json_lines((logs / "crawl-demo.log").read_text())  # the crawl process's own file
    assert any(line["message"].startswith("crawl 1 of demo finished") for line in crawl_file)


def test_console_format_quiet_and_verbose(demo_site, tmp_path):
    config, data_dir = demo_toml(demo_site.url, tmp_path), tmp_path / "data"
    console = foiawatch("crawl", config, "--data-dir", str(data_dir), "--log-format", "console")
    assert console.returncode == 0, console.stderr
    assert " INFO    foiawatch.crawler.run: crawl 1 of demo finished: complete" in console.stderr
    assert not console.stderr.lstrip().startswith("{")

    quiet = foiawatch("-q", "crawl", config, "--data-dir", str(data_dir))  # auto: JSON, as stderr is a pipe
    assert quiet.returncode == 0 and quiet.stderr == "", "--quiet: warnings and errors only"
    verbose = json_lines(foiawatch("crawl", config, "--data-dir", str(data_dir), "-v", "--log-format", "json").stderr)
    assert any(line["level"] == "DEBUG" and line["message"].startswith("listing page http://") for line in verbose)
    assert not any(line["logger"].startswith("scrapy") for line in verbose), "the libraries' lines need -vv"
    very = json_lines(foiawatch("crawl", config, "--data-dir", str(data_dir), "-vv", "--log-format", "json").stderr)
    assert any(line["level"] == "DEBUG" and line["logger"].startswith("scrapy") for line in very)
    day_file = json_lines(next((data_dir / "logs").glob("foiawatch-*.log")).read_text())
    finished = [line for line in day_file if "finished: complete" in line["message"]]
    assert [line["crawl_id"] for line in finished] == [1, 2, 3, 4], "logs/ keeps INFO even when --quiet"


def test_every_command_accepts_quiet_verbose_and_log_format():
    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path, command in walk(cli, []):
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"-q", "--quiet", "-v", "--verbose", "--log-format"} <= options, " ".join(path) or "foiawatch"


def test_log_format_is_checked_and_read_from_the_environment(tmp_path):
    bad = CliRunner().invoke(cli, ["--log-format", "xml", "agencies"])
    assert bad.exit_code == 2 and "'xml' is not one of 'auto', 'console', 'json'" in bad.output
    result = foiawatch("status", "--data-dir", str(tmp_path), env={"FOIAWATCH_LOG_FORMAT": "console"})
    assert result.returncode == 1 and result.stderr.startswith("Error: no archive in "), result.stderr


def test_progress_bars_only_on_a_terminal(demo_site, tmp_path):
    config, data_dir = demo_toml(demo_site.url, tmp_path), tmp_path / "data"
    primary, secondary = pty.openpty()
    child = subprocess.Popen([*FOIAWATCH, "crawl", config, "--data-dir", str(data_dir)], cwd=ROOT,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary,
                             env={**os.environ, "FOIAWATCH_LOG_FORMAT": "", "TERM": "xterm", "COLUMNS": "120"})
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            elif child.poll() is not None:
                break
        assert child.wait(timeout=60) == 0
    finally:
        child.kill()
        os.close(primary)
    text = seen.decode("utf-8", "replace")
    assert "listing pages" in text and "documents" in text, "the progress display was drawn"
    assert "INFO    foiawatch.crawler.run: crawl 1 of demo finished: complete" in text, "console lines on a TTY"
