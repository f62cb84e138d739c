"""Naming what went wrong on the network: a DNS failure, a refused connection, a TLS error, a timeout, a broken
connection, 429 Too Many Requests or a 5xx, each with words of its own for an error line and for the operator.

Two ways in: :func:`classify_exception` for an exception as it was raised (``requests`` and ``urllib3`` wrap the
socket's error two or three levels deep; the chain is walked), and :func:`classify_text` for a failure stored as
text (the crawl records what a listing page answered as a description, e.g. "host not found (...)", "HTTP 503").
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator

from .vocabulary import FailureKind

# A noun phrase per kind, for "cannot reach X: <what>" and for status lines.
WHAT: dict[FailureKind, str] = {
    FailureKind.DNS: "DNS failure",
    FailureKind.REFUSED: "connection refused",
    FailureKind.TLS: "TLS error",
    FailureKind.TIMEOUT: "no answer in time (timeout)",
    FailureKind.RESET: "connection broken off",
    FailureKind.RATE_LIMITED: "rate-limited (429 Too Many Requests)",
    FailureKind.SERVER_ERROR: "server errors (5xx)",
    FailureKind.BLOCKED: "access refused",
    FailureKind.BAD_ANSWER: "an answer that is not what was asked for",
    FailureKind.OTHER: "an error",
}

_TEXT_PATTERNS: tuple[tuple[FailureKind, re.Pattern[str]], ...] = (
    (FailureKind.DNS, re.compile(
        r"name or service not known|nodename nor servname|temporary failure in name resolution|no address "
        r"associated|getaddrinfo|dns lookup|dnslookup|host not found|name ?resolution|failed to resolve|"
        r"does not resolve|\bdns\b", re.I)),
    (FailureKind.REFUSED, re.compile(r"connection ?refused|errno 111\b", re.I)),
    (FailureKind.TLS, re.compile(r"\bssl\b|sslerror|\btls\b|certificate|handshake", re.I)),
    (FailureKind.TIMEOUT, re.compile(r"timed ?out|timeout", re.I)),
    (FailureKind.RESET, re.compile(r"connection (reset|lost|aborted|broken)|remote end closed|remotedisconnected|"
                                   r"responsedataloss|responsefailed|broke off|broken pipe", re.I)),
    (FailureKind.RATE_LIMITED, re.compile(r"\b429\b|too many requests", re.I)),
    (FailureKind.SERVER_ERROR, re.compile(r"(http|status|answered|code)\s*5\d\d\b|\b5\d\d (internal|bad gateway|"
                                          r"service unavailable|gateway timeout)", re.I)),
)


def classify_text(text: str | None) -> FailureKind:
    """The kind of failure a stored description tells of (``OTHER`` when it names none)."""
    for kind, pattern in _TEXT_PATTERNS:
        if text and pattern.search(text):
            return kind
    return FailureKind.OTHER


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and every error it wraps: ``__cause__``, ``__context__``, a ``reason`` attribute (urllib3's
    MaxRetryError) and exceptions among its ``args`` (requests' ConnectionError), breadth first."""
    seen: set[int] = set()
    queue = [error]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        queue += [item for item in linked if isinstance(item, BaseException)]


def classify_exception(error: BaseException) -> FailureKind:
    """The kind of network failure an exception (and what it wraps) tells of."""
    for current in _chain(error):
        name = type(current).__name__
        if isinstance(current, socket.gaierror) or "NameResolution" in name or "DNSLookup" in name:
            return FailureKind.DNS
        if isinstance(current, ConnectionRefusedError) or "ConnectionRefused" in name:
            return FailureKind.REFUSED
        if isinstance(current, ssl.SSLError | ssl.CertificateError) or "SSLError" in name:
            return FailureKind.TLS
        if isinstance(current, TimeoutError) or "Timeout" in name:
            return FailureKind.TIMEOUT
        if isinstance(current, ConnectionResetError | BrokenPipeError | ConnectionAbortedError) or name in (
                "ProtocolError", "ChunkedEncodingError", "RemoteDisconnected", "IncompleteRead"):
            return FailureKind.RESET
    return classify_text(" ".join(str(current) for current in _chain(error)))


def no_such_host(error: BaseException) -> bool:
    """The resolver answered that the name does not exist (not a resolver that failed to answer): retrying soon
    cannot help."""
    return any(isinstance(current, socket.gaierror) and current.errno == socket.EAI_NONAME
               for current in _chain(error))


def resolver_detail(error: BaseException) -> str:
    """The resolver's own words, e.g. "Name or service not known", when the chain holds them."""
    for current in _chain(error):
        if isinstance(current, socket.gaierror) and current.strerror:
            return current.strerror
    return ""


def describe(kind: FailureKind, host: str, detail: str = "") -> str:
    """One line naming what happened with ``host``, e.g. "web.archive.org does not resolve (DNS failure: Name or
    service not known)"."""
    more = f": {detail}" if detail else ""
    return {
        FailureKind.DNS: f"{host} does not resolve (DNS failure{more})",
        FailureKind.REFUSED: f"{host} refused the connection (connection refused{more})",
        FailureKind.TLS: f"the TLS connection to {host} failed (TLS error{more})",
        FailureKind.TIMEOUT: f"{host} did not answer in time (timeout{more})",
        FailureKind.RESET: f"the connection to {host} broke off{more}",
        FailureKind.RATE_LIMITED: f"{host} is rate-limiting us (429 Too Many Requests{more})",
        FailureKind.SERVER_ERROR: f"{host} keeps failing (server errors{more})",
        FailureKind.BLOCKED: f"{host} refuses access{more}",
        FailureKind.BAD_ANSWER: f"{host} answered with something unreadable{more}",
        FailureKind.OTHER: f"{host} could not be used{more}",
    }[kind]
