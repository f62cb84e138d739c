"""Errors name what happened: a DNS failure, a refused connection, a TLS error, a timeout, 429 Too Many Requests or
a 5xx, each in its own words in the error line, in the run's record and in the operator's alert, and an expected
failure never prints a traceback. Offline means unresolvable here: ``.invalid`` never resolves (RFC 2606), so
nothing leaves this machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from foiawatch.alerts.settings import AlertSettings
from foiawatch.archive.failures import classify_exception, classify_text
from foiawatch.archive.state import open_private
from foiawatch.archive.vocabulary import FailureKind
from foiawatch.config import bundled_config_dir, find_config
from foiawatch.pipeline import RunContext, alerts_step, run_pipeline
from foiawatch.wayback import RateLimited, WaybackClient, WaybackUnavailable

from .conftest import OPERATOR, StaticSite, free_port

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = "foiawatch-test.invalid"
FOIAWATCH = [sys.executable, "-c", "from foiawatch.cli import cli; cli(prog_name='foiawatch')"]
FAST = dict(cdx_per_minute=60_000, playback_per_second=1000, min_backoff=0.01, retry_backoff=0.01, retries=1,
            max_rate_limit_waits=1, timeout=0.5)


class Silent:
    """A TCP server that accepts connections and never answers."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.socket.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


class Always(dict):
    """StaticSite routes answering every path with one status."""

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status

    def get(self, _path, _default=None):
        return self.status, {"Content-Type": "text/plain"}, b"no"


@pytest.fixture
def endpoints():
    """URLs that fail each way: an unresolvable name, a closed port, TLS spoken to a plain HTTP server, a server
    that never answers, one that answers 429 and one that answers 503."""
    silent = Silent()
    try:
        with StaticSite({}) as plain, StaticSite(Always(429)) as limiting, StaticSite(Always(503)) as failing:
            yield {
                FailureKind.DNS: f"http://{OFFLINE}",
                FailureKind.REFUSED: f"http://127.0.0.1:{free_port()}",
                FailureKind.TLS: plain.url.replace("http://", "https://"),
                FailureKind.TIMEOUT: silent.url,
                FailureKind.RATE_LIMITED: limiting.url,
                FailureKind.SERVER_ERROR: failing.url,
            }
    finally:
        silent.close()


@pytest.mark.parametrize("kind", [FailureKind.DNS, FailureKind.REFUSED, FailureKind.TLS, FailureKind.TIMEOUT])
def test_network_failures_are_told_apart_from_the_exceptions_requests_raises(endpoints, kind):
    with pytest.raises(requests.RequestException) as raised:
        requests.get(endpoints[kind] + "/", timeout=0.5)
    assert classify_exception(raised.value) == kind


WORDS = {
    FailureKind.DNS: (WaybackUnavailable, f"{OFFLINE} does not resolve (DNS failure: "),
    FailureKind.REFUSED: (WaybackUnavailable, "127.0.0.1 refused the connection (connection refused)"),
    FailureKind.TLS: (WaybackUnavailable, "the TLS connection to 127.0.0.1 failed (TLS error"),
    FailureKind.TIMEOUT: (WaybackUnavailable, "127.0.0.1 did not answer in time (timeout"),
    FailureKind.RATE_LIMITED: (RateLimited, "127.0.0.1 still answers 429 Too Many Requests after 1 back-offs"),
    FailureKind.SERVER_ERROR: (WaybackUnavailable, "127.0.0.1 keeps failing (server errors): it answered 503"),
}


@pytest.mark.parametrize("kind", list(WORDS))
def test_the_wayback_client_names_each_failure(endpoints, kind):
    error_class, words = WORDS[kind]
    with pytest.raises(error_class) as raised:
        list(WaybackClient(endpoints[kind], **FAST).search_prefix("x/"))
    assert raised.value.kind == kind and words in str(raised.value)


def test_a_name_that_does_not_exist_is_not_retried():
    client = WaybackClient(f"http://{OFFLINE}", **(FAST | {"retries": 3}))
    with pytest.raises(WaybackUnavailable, match="; 1 attempt$"):
        list(client.search_prefix("x/"))
    assert client.requests["cdx"] == 1


def test_stored_failure_descriptions_are_classified():
    assert classify_text("library root unreachable (CannotResolveHostError: DNS lookup failed: no results for "
                         "hostname lookup: foiawatch-test.invalid.)") == FailureKind.DNS
    assert classify_text("library root unreachable (host not found (x))") == FailureKind.DNS
    assert classify_text("library root unreachable (connection refused)") == FailureKind.REFUSED
    assert classify_text("ResponseNeverReceived: [<Failure OpenSSL.SSL.Error: [('SSL routines', '', "
                         "'wrong version number')]>]") == FailureKind.TLS
    assert classify_text("library root unreachable (HTTP 429)") == FailureKind.RATE_LIMITED
    assert classify_text("3 of 4 listing pages failed: x (HTTP 503)") == FailureKind.SERVER_ERROR
    assert classify_text("library root unreachable (timed out (took longer than 10 seconds))") == FailureKind.TIMEOUT
    assert classify_text("https://example.gov/x used to list documents and now lists none") == FailureKind.OTHER


# Offline: the library and the Wayback Machine on a name that never resolves ----------------------------------


def offline_config(directory: Path) -> Path:
    text = (bundled_config_dir() / "demo.toml").read_text()
    text = text.replace('id = "demo"', 'id = "offline"').replace("127.0.0.1:8765", OFFLINE)
    text = text.replace('allowed_hosts = ["127.0.0.1", "localhost"]', f'allowed_hosts = ["{OFFLINE}"]')
    text += f'base_url = "http://{OFFLINE}"\n'  # the [wayback] table is the file's last
    path = directory / "offline.toml"
    path.write_text(text)
    return path


def foiawatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FOIAWATCH, *args], cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=240, env={**os.environ, "FOIAWATCH_LOG_FORMAT": "", **(env or {})})


def test_offline_one_line_naming_the_dns_failure_and_the_documented_exit_codes(tmp_path, mailbox):
    config, data_dir = offline_config(tmp_path), str(tmp_path / "data")
    crawled = foiawatch("-q", "crawl", str(config), "--data-dir", data_dir)
    assert crawled.returncode == 3, crawled.stderr  # the library is down: recorded as an outage
    assert "The library could not be crawled (DNS failure):" in crawled.stderr
    assert "Traceback" not in crawled.stderr + crawled.stdout

    wayback = foiawatch("-q", "wayback", str(config), "--data-dir", data_dir)
    assert wayback.returncode == 4, wayback.stderr  # the Wayback Machine could not be used: nothing concluded
    assert wayback.stdout == ""
    (line,) = wayback.stderr.splitlines()
    assert line.startswith(f"Error: cannot use the Wayback Machine at http://{OFFLINE}: {OFFLINE} does not "
                           "resolve (DNS failure: ")
    assert "rate-limiting" not in line and "Check this machine's DNS and network" in line

    env = {"FOIAWATCH_SMTP_URL": mailbox.url, "FOIAWATCH_OPERATOR_EMAIL": OPERATOR}
    run = foiawatch("--log-format", "json", "run", str(config), "--data-dir", data_dir, "--json", env=env)
    assert run.returncode == 1, run.stderr  # a step failed
    steps = json.loads(run.stdout)["steps"]
    assert steps["wayback"]["status"] == "failed" and steps["wayback"]["error_kind"] == "dns"
    assert steps["crawl"]["detail"].startswith("crawl 2: outage (library root unreachable")
    assert "Traceback" not in run.stderr
    logged = [json.loads(line) for line in run.stderr.splitlines()]
    (failure,) = [line for line in logged if line["level"] == "ERROR"]
    assert failure["message"].startswith(f"offline: step wayback failed: {OFFLINE} does not resolve (DNS failure")
    assert "exception" not in failure
    (alert,) = mailbox.to(OPERATOR)
    assert alert["Subject"] == ("[foiawatch operator] PROBLEM: offline: cannot reach the Wayback Machine: DNS "
                                "failure (its host name does not resolve)")
    assert "rate-limiting" not in alert.get_content() and "does not resolve (DNS failure" in alert.get_content()


def failing_with(error: Exception):
    def step(context: RunContext) -> str:
        raise error
    return step


@pytest.mark.parametrize(("error", "headline"), [
    (WaybackUnavailable("x does not resolve", kind=FailureKind.DNS),
     "cannot reach the Wayback Machine: DNS failure (its host name does not resolve)"),
    (WaybackUnavailable("x refused the connection", kind=FailureKind.REFUSED),
     "cannot reach the Wayback Machine: connection refused"),
    (WaybackUnavailable("TLS", kind=FailureKind.TLS), "cannot reach the Wayback Machine: TLS error"),
    (WaybackUnavailable("slow", kind=FailureKind.TIMEOUT),
     "cannot reach the Wayback Machine: it does not answer in time"),
    (RateLimited("x still answers 429"), "the Wayback Machine is rate-limiting us (429 Too Many Requests)"),
    (WaybackUnavailable("x keeps failing", kind=FailureKind.SERVER_ERROR),
     "the Wayback Machine is failing (server errors, 5xx)"),
])
def test_the_operator_alert_is_worded_by_what_happened(tmp_path, error, headline):
    config = replace(find_config("demo"), id="agency")
    report = run_pipeline(config, tmp_path, settings=AlertSettings(),
                          steps=(("wayback", failing_with(error)), ("alerts", alerts_step)))
    assert report.steps[0].error_kind == error.kind
    (row,) = open_private(tmp_path).execute("select key, active, headline from conditions").fetchall()
    assert row == ("wayback:agency", 1, f"agency: {headline}")
