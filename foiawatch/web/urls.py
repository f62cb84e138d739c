"""URL identity for documents and listing pages.

A document's identity is its canonical URL, so two spellings of one URL must canonicalise alike (or the archive
would report a removal plus an addition), while two different files must never collapse into one: path case is kept
(ICE file names mix case) and query order is kept (some servers treat it as significant).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit, urlunsplit

from ..config import DocumentRules

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are in a path or query; everything else (spaces, non-ASCII, quotes…) is percent-encoded.
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_STRIPPED_INSIDE = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL


def canonical_url(url: str, base: str | None = None) -> str | None:
    """The canonical absolute form of a link, or None if it is not an http(s) URL.

    Resolves against ``base``; lowercases scheme and host; drops default ports, fragments and dot segments;
    percent-encodes consistently (``Name Part 01`` and ``Name%20Part%2001`` are the same file).
    """
    url = _STRIPPED_INSIDE.sub("", url).strip()
    head, mark, rest = url.partition("?")
    url = head.replace("\\", "/") + mark + rest  # browsers read a backslash in a path as a slash
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. an IPv6 literal gone wrong or a non-numeric port
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = _host(parts.hostname)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = _encode(_remove_dot_segments(parts.path or "/"), _PATH_SAFE)
    query = _encode(parts.query, _QUERY_SAFE)
    return urlunsplit((scheme, host, path, query, ""))


def query_values(query: str, *, leave_out: str = "") -> dict[str, list[str]]:
    """A query's values by parameter (``leave_out`` left out), every value of a repeated one kept (``DB=2017&DB=2016``)
    and sorted: a pager that writes the same filters in another order links the same listing. (A URL's identity
    keeps its order: this only tells whether two links name the same listing.)"""
    values: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key != leave_out:
            values.setdefault(key, []).append(value)
    return {key: sorted(found) for key, found in values.items()}


def is_document_url(url: str, rules: DocumentRules) -> bool:
    """Whether a link is a document: an exclude pattern wins, then a url pattern, then the file extension."""
    if any(p.search(url) for p in _compiled(rules.exclude_patterns)):
        return False
    if any(p.search(url) for p in _compiled(rules.url_patterns)):
        return True
    return extension(url) in _extensions(rules.extensions)


def extension(url: str) -> str:
    """The lowercased extension of the URL's last path segment ('' if none): ``/a/Report.PDF`` gives ``pdf``."""
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    stem, dot, suffix = segment.rpartition(".")
    return suffix.lower() if dot and stem else ""


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, so ``/a/./b/../c`` and ``/a/c`` are one URL."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _encode(component: str, safe: frozenset[str]) -> str:
    """Percent-encode what must be, decode escapes of unreserved characters, uppercase the rest."""
    out: list[str] = []
    index = 0
    while index < len(component):
        char = component[index]
        if char == "%":
            match = _ESCAPE.match(component, index)
            if match:
                decoded = chr(int(match.group(1), 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + match.group(1).upper())
                index += 3
                continue
            out.append("%25")
        elif char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        index += 1
    return "".join(out)


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


@lru_cache(maxsize=64)
def _extensions(extensions: tuple[str, ...]) -> frozenset[str]:
    return frozenset(e.lower().lstrip(".") for e in extensions)
