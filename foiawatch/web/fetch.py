"""One polite HTTP session to a library, for the fetches made outside a Scrapy crawl (live probes, ``init``,
``check``): the agency's User-Agent, timeout and retries (5xx with back-off, Retry-After obeyed), its delay between
requests, and robots.txt read once per site.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..config import Politeness
from .ratelimit import RateLimiter

MAX_REDIRECTS = 10


@dataclass(frozen=True)
class Fetched:
    """A response read into memory, at most ``max_bytes`` of its body (``truncated`` says whether more came)."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool = False


class PoliteSession:
    """A requests session that keeps to the agency's politeness settings."""

    def __init__(self, politeness: Politeness):
        self.politeness = politeness
        self.session = requests.Session()
        self.session.headers["User-Agent"] = politeness.user_agent
        self.session.max_redirects = MAX_REDIRECTS
        retry = Retry(total=politeness.retries, status_forcelist=(500, 502, 503, 504), allowed_methods=("HEAD", "GET"),
                      backoff_factor=1.0, raise_on_status=False, respect_retry_after_header=True)
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, HTTPAdapter(max_retries=retry))
        self.pace = RateLimiter(1, politeness.interval) if politeness.interval > 0 else None
        self.robots: dict[str, RobotFileParser | None] = {}

    def __enter__(self) -> PoliteSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def send(self, method: str, url: str, *, stream: bool | None = None) -> requests.Response:
        if self.pace:
            self.pace.acquire()
        return self.session.request(method, url, timeout=self.politeness.timeout, allow_redirects=True,
                                    stream=stream)

    def fetch(self, url: str, max_bytes: int) -> Fetched:
        """GET ``url`` and read at most ``max_bytes`` of it (a listing page is never trusted to be small)."""
        with self.send("GET", url, stream=True) as response:
            body = response.raw.read(max_bytes + 1, decode_content=True) or b""
            return Fetched(url, response.url, response.status_code, dict(response.headers), body[:max_bytes],
                           truncated=len(body) > max_bytes)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets the agency's User-Agent fetch ``url`` (always, when the agency does not obey it)."""
        if not self.politeness.obey_robots:
            return True
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        if site not in self.robots:
            self.robots[site] = self._read_robots(site)
        robots = self.robots[site]
        return robots is None or robots.can_fetch(self.politeness.user_agent, url)

    def _read_robots(self, site: str) -> RobotFileParser | None:
        """The site's rules; None (everything allowed) when it has no robots.txt or it cannot be read."""
        try:
            response = self.send("GET", site + "/robots.txt")
        except requests.RequestException:
            return None
        if response.status_code != 200:
            return None
        robots = RobotFileParser()
        robots.parse(response.text.splitlines())
        return robots


def describe_failure(error: requests.RequestException) -> str:
    """One line on why a request failed, in words a user can act on."""
    text = str(error)
    if isinstance(error, requests.exceptions.SSLError):
        return f"the TLS handshake failed (certificate or protocol): {text}"
    if isinstance(error, requests.exceptions.ConnectionError):
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return "the host name does not resolve (DNS): check the URL"
        if "refused" in text.lower():
            return "the connection was refused: is the server up?"
        return f"could not connect: {text}"
    if isinstance(error, requests.exceptions.Timeout):
        return "the server did not answer in time (timeout)"
    if isinstance(error, requests.exceptions.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    return f"{type(error).__name__}: {text}"
