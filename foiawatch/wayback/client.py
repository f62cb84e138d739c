"""The one way foiawatch talks to the Wayback Machine: CDX prefix listings, verified raw downloads, Save Page Now.

Everything else goes through :class:`WaybackClient`, so the service behind it is a ``base_url`` (the real one, or
the local stand-in in ``foiawatch.demo.wayback_standin``) and the implementation can be swapped. It is written on
``requests`` rather than on EDGI's ``wayback`` package, whose hard-coded host, fail-fast CDX parser and
in-memory playback do not fit here; the README explains the choice. Several of its hard-won lessons about real
CDX data are ported below (month-00 timestamps, malformed originals, repeated rows, 80 % of the service limits).

Rules the service imposes, and how they are kept:

* CDX is limited to about 30 requests a minute and a 429 ignored gets the IP blocked for an hour: listings are
  paged by resume key (a handful of requests per agency), requests are paced by process-wide limiters, and a
  live 429 pauses every thread for at least ``min_backoff`` seconds, doubling while it repeats.
* An *archived* response carries ``Memento-Datetime``; its status is the captured site's, not the service's. An
  archived 404 or 429 is therefore an error page someone captured, never a document and never a reason to back
  off.
* The CDX ``digest`` is the base32 SHA-1 of the captured body, so every download is checked against it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TypedDict
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from ..archive.failures import WHAT, classify_exception, describe, no_such_host, resolver_detail
from ..archive.vocabulary import FailureKind, counted
from ..config import DEFAULT_USER_AGENT, WAYBACK_BASE_URL
from ..web.ratelimit import RateLimiter, retry_after, shared_gate, shared_limiter
from .errors import (
    BlockedSite,
    DigestMismatch,
    NotADocument,
    NotArchived,
    RateLimited,
    SaveFailed,
    WaybackError,
    WaybackUnavailable,
)
from .models import (
    Capture,
    CdxListing,
    CdxPage,
    DownloadResult,
    SaveResult,
    base32_digest,
    format_timestamp,
    parse_cdx,
)

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MAX_HOPS = 10
RETRY_STATUSES = frozenset({500, 502, 503, 504})
ACCESS_KEY_ENV, SECRET_KEY_ENV = "FOIAWATCH_IA_ACCESS_KEY", "FOIAWATCH_IA_SECRET_KEY"

_MEMENTO_PATH = re.compile(r"^/web/(\d{1,14})([a-z]{2}_)?/(.+)$", re.DOTALL)


def _retry_after(response: requests.Response) -> float:
    return retry_after(response.headers.get("Retry-After")) or 0.0


def _is_memento(response: requests.Response) -> bool:
    return "Memento-Datetime" in response.headers


class _BodyHasher:
    """Hashes a streamed body. A gzip-encoded capture is written decoded and hashed both ways, because its CDX
    digest covers the payload as stored, which may be the compressed or the plain form."""

    def __init__(self, gzip: bool) -> None:
        self.size = 0
        self._stored, self._plain, self._sha256 = hashlib.sha1(), hashlib.sha1(), hashlib.sha256()
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16) if gzip else None

    def feed(self, chunk: bytes) -> bytes:
        """Hash one received chunk and return the bytes to write."""
        self._stored.update(chunk)
        return self._written(self._inflate.decompress(chunk) if self._inflate else chunk)

    def finish(self) -> bytes:
        """The bytes still held by the decoder."""
        return self._written(self._inflate.flush()) if self._inflate else b""

    def _written(self, data: bytes) -> bytes:
        self._plain.update(data)
        self._sha256.update(data)
        self.size += len(data)
        return data

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def digest(self) -> str:
        """CDX-style digest of the bytes written."""
        return base32_digest(self._plain.digest())

    def matches(self, expected: str) -> bool:
        return expected.upper() in {base32_digest(self._stored.digest()), base32_digest(self._plain.digest())}


class ClientOptions(TypedDict, total=False):
    """The keyword options of ``WaybackClient``, for code that passes them on to the clients it makes."""

    cdx_per_minute: float
    playback_per_second: float
    save_per_minute: float
    min_backoff: float
    max_rate_limit_waits: int
    retries: int
    retry_backoff: float
    page_size: int
    timeout: float | tuple[float, float]
    user_agent: str
    allow_save: bool
    session: requests.Session | None


class WaybackClient:
    """Our interface to the Wayback Machine (or anything that speaks its CDX and playback formats).

    Rates are process-wide per ``base_url`` and setting: two clients for the same service share one budget, and
    a 429 seen by either pauses both. Defaults sit at 80 % of the service's published limits.
    """

    def __init__(
        self,
        base_url: str = WAYBACK_BASE_URL,
        *,
        cdx_per_minute: float = 24,
        playback_per_second: float = 8,
        save_per_minute: float = 6,
        min_backoff: float = 60.0,
        max_rate_limit_waits: int = 4,
        retries: int = 3,
        retry_backoff: float = 2.0,
        page_size: int = 1000,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        user_agent: str = DEFAULT_USER_AGENT,
        allow_save: bool = False,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.min_backoff = min_backoff
        self.max_rate_limit_waits = max_rate_limit_waits
        self.retries = retries
        self.retry_backoff = retry_backoff
        self.page_size = page_size
        self.timeout = timeout
        self.allow_save = allow_save
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.requests: Counter[str] = Counter()  # HTTP requests sent, per endpoint, retries included
        self._count_lock = threading.Lock()
        gate = shared_gate(self.base_url)
        self._limiters: dict[str, RateLimiter] = {
            "cdx": shared_limiter(f"{self.base_url} cdx", cdx_per_minute, 60.0, gate),
            "playback": shared_limiter(f"{self.base_url} playback", playback_per_second, 1.0, gate),
            "save": shared_limiter(f"{self.base_url} save", save_per_minute, 60.0, gate),
        }

    @property
    def _host(self) -> str:
        return urlsplit(self.base_url).hostname or self.base_url

    def __enter__(self) -> WaybackClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -- CDX -------------------------------------------------------------------------------------------------

    def search(
        self,
        url: str,
        *,
        match_type: str | None = None,
        from_: str | date | None = None,
        to: str | date | None = None,
        statuses: Iterable[int] | None = None,
        mimetypes: Iterable[str] | None = None,
        collapse: str | None = None,
        page_size: int | None = None,
    ) -> CdxListing:
        """List captures of ``url`` (``match_type`` "prefix", "host" or "domain" widens it), oldest first per URL.

        ``statuses`` and ``mimetypes`` become server-side filters; ``collapse`` ("digest", "urlkey", or
        "field:N") drops rows equal to the row before them. Repeated and malformed rows are dropped and counted in
        the listing's ``stats``.
        """
        params: dict[str, str | list[str]] = {"url": url}
        if match_type:
            params["matchType"] = match_type
        params["limit"] = str(page_size or self.page_size)
        if from_ is not None:
            params["from"] = format_timestamp(from_)
        if to is not None:
            params["to"] = format_timestamp(to)
        filters = []
        if statuses:
            filters.append("statuscode:" + _alternatives(str(s) for s in statuses))
        if mimetypes:
            filters.append("mimetype:" + _alternatives(re.escape(m) for m in mimetypes))
        if filters:
            params["filter"] = filters
        if collapse:
            params["collapse"] = collapse
        params["showResumeKey"] = "true"
        params["resolveRevisits"] = "true"
        return CdxListing(self._cdx_page, params)

    def search_prefix(
        self,
        prefix: str,
        *,
        from_: str | date | None = None,
        to: str | date | None = None,
        statuses: Iterable[int] | None = None,
        mimetypes: Iterable[str] | None = None,
        collapse: str | None = "digest",
        page_size: int | None = None,
    ) -> CdxListing:
        """Everything captured under ``prefix`` (e.g. an agency's library path) in a few paged requests.

        ``collapse="digest"`` keeps one row per run of identical bodies; note that it also folds two *different*
        URLs whose bodies are identical when their rows are adjacent, so pass ``collapse=None`` when every URL
        must be seen.
        """
        return self.search(
            prefix, match_type="prefix", from_=from_, to=to, statuses=statuses, mimetypes=mimetypes,
            collapse=collapse, page_size=page_size,
        )

    def _cdx_page(self, params: dict[str, str | list[str]]) -> CdxPage:
        response = self._request("cdx", f"{self.base_url}/cdx/search/cdx", params=params)
        if response.status_code != 200:
            if response.status_code == 403 or "AccessControlException" in response.text:
                raise BlockedSite(f"the archive refuses {params['url']}: {response.text.strip()[:200]}")
            raise WaybackError(f"CDX query for {params['url']} answered {response.status_code}")
        return parse_cdx(response.text, self.base_url)

    # -- playback --------------------------------------------------------------------------------------------

    def download(self, capture: Capture, dest: str | Path, *, follow_redirects: bool = True) -> DownloadResult:
        """Stream the raw (``id_``) body of ``capture`` to ``dest`` and check it against the CDX digest.

        Raises :class:`NotADocument` for an archived error page (or an archived redirect when
        ``follow_redirects`` is false), :class:`DigestMismatch` when the bytes are not the ones indexed (nothing is
        left at ``dest``), :class:`NotArchived` when the service has no such capture. When the service sends the
        body of another capture (a historical redirect), ``verified`` is False: the CDX row does not describe it.
        """
        dest, attempt = Path(dest), 0
        while True:
            response, redirects, direct = self._open_memento(capture, follow_redirects)
            try:
                return self._save_body(capture, response, dest, redirects, direct)
            except (urllib3.exceptions.HTTPError, requests.RequestException) as error:
                attempt += 1
                if attempt > self.retries:
                    raise WaybackUnavailable(f"download of {capture.raw_url} kept breaking off: {error}",
                                             kind=FailureKind.RESET) from error
                self._sleep_before_retry(attempt, f"download broke off ({error})")
            finally:
                response.close()

    def _open_memento(self, capture: Capture, follow_redirects: bool) -> tuple[requests.Response, list[str], bool]:
        """Walk the service's redirects to the memento holding a body; return it unread, the archived redirects
        followed, and whether the first answer was already it."""
        url = capture.raw_url
        redirects: list[str] = []
        visited: list[str] = []
        while len(visited) < MAX_HOPS:
            visited.append(url)
            response = self._request("playback", url, stream=True, headers={"Accept-Encoding": "identity"})
            status, location = response.status_code, response.headers.get("Location")
            if _is_memento(response) and 200 <= status < 300:
                return response, redirects, len(visited) == 1
            response.close()
            if 300 <= status < 400 and location:
                if _is_memento(response):  # the captured site redirected
                    if not follow_redirects:
                        raise NotADocument(capture, status)
                    redirects.append(url)
                url = self._on_service(urljoin(url, location))
                if url in visited:
                    raise WaybackError(f"{capture.raw_url}: circular redirects at {url}")
                continue
            if _is_memento(response):
                raise NotADocument(capture, status)
            if status == 404:
                raise NotArchived(f"no capture of {capture.original} near {capture.timestamp}")
            if status == 403:
                raise BlockedSite(f"{capture.original} is blocked from playback")
            raise WaybackError(f"{url} answered {status} without an archived response")
        raise WaybackError(f"{capture.raw_url}: more than {MAX_HOPS} redirects")

    def _save_body(
        self, capture: Capture, response: requests.Response, dest: Path, redirects: list[str], direct: bool
    ) -> DownloadResult:
        encodings = {e.strip().lower() for e in response.headers.get("Content-Encoding", "").split(",")}
        hasher = _BodyHasher(gzip=bool(encodings & {"gzip", "x-gzip"}))
        memento = _MEMENTO_PATH.match(urlsplit(response.url).path)
        assert memento is not None, "_open_memento asks only for memento URLs (the capture's, or _on_service's)"
        final_timestamp = memento.group(1)
        expected = capture.digest if direct else None  # the CDX row describes only the capture asked for
        verified = expected is not None
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.part")
        try:
            with open(partial, "wb") as handle:
                for chunk in response.raw.stream(CHUNK, decode_content=False):
                    handle.write(hasher.feed(chunk))
                handle.write(hasher.finish())
            if expected is not None and not hasher.matches(expected):
                raise DigestMismatch(capture, expected, hasher.digest, hasher.size)
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)
        return DownloadResult(
            capture=capture, path=dest, size=hasher.size, sha256=hasher.sha256, digest=hasher.digest,
            verified=verified, final_url=response.url, final_timestamp=final_timestamp,
            content_type=response.headers.get("Content-Type", ""), redirects=tuple(redirects),
        )

    def _on_service(self, url: str) -> str:
        """Point a redirect from the service at our ``base_url`` (the real one answers with absolute URLs)."""
        parts = urlsplit(url)
        if not _MEMENTO_PATH.match(parts.path):
            raise WaybackError(f"redirect leaves the archive: {url}")
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    # -- Save Page Now 2 -------------------------------------------------------------------------------------

    def save_page(self, url: str, *, poll_interval: float = 5.0, timeout: float = 300.0) -> SaveResult:
        """Ask Save Page Now 2 to capture ``url`` and wait for the capture.

        Off unless the client was made with ``allow_save=True``; needs the archive.org S3-style keys in
        ``FOIAWATCH_IA_ACCESS_KEY`` / ``FOIAWATCH_IA_SECRET_KEY``. The keys are never logged nor put in errors.
        """
        if not self.allow_save:
            raise SaveFailed("Save Page Now is off for this client (allow_save=False)")
        access, secret = os.environ.get(ACCESS_KEY_ENV), os.environ.get(SECRET_KEY_ENV)
        if not access or not secret:
            raise SaveFailed(f"Save Page Now needs {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} in the environment")
        headers = {"Accept": "application/json", "Authorization": f"LOW {access}:{secret}"}
        response = self._request("save", f"{self.base_url}/save", method="POST", data={"url": url},
                                 headers=headers)
        job = _json(response)
        job_id = job.get("job_id")
        if not job_id:
            raise SaveFailed(f"Save Page Now refused {url}: {job.get('message') or response.status_code}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(poll_interval)
            status = _json(self._request("playback", f"{self.base_url}/save/status/{job_id}", headers=headers))
            if status.get("status") == "success":
                capture = Capture.at(status.get("original_url") or url, status["timestamp"], self.base_url)
                return SaveResult(url, job_id, capture.timestamp, capture.raw_url)
            if status.get("status") == "error":
                problem = f"{status.get('status_ext')} {status.get('message')}"
                raise SaveFailed(f"Save Page Now failed for {url}: {problem}")
        raise SaveFailed(f"Save Page Now job {job_id} for {url} still pending after {timeout:.0f} s")

    # -- transport -------------------------------------------------------------------------------------------

    def _request(
        self, endpoint: str, url: str, *, method: str = "GET", stream: bool = False,
        params: dict[str, str | list[str]] | None = None, headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send one request politely: paced, retried on 5xx and dropped connections, paused on a live 429."""
        failures = rate_limited = 0
        while True:
            self._limiters[endpoint].acquire()
            with self._count_lock:
                self.requests[endpoint] += 1
            try:
                response = self.session.request(
                    method, url, stream=stream, allow_redirects=False, timeout=self.timeout, params=params,
                    headers=headers, data=data,
                )
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                failures += 1
                kind = classify_exception(error)
                if failures > self.retries or no_such_host(error):  # a name that does not exist will not soon
                    detail = resolver_detail(error) if kind == FailureKind.DNS else ""
                    raise WaybackUnavailable(
                        f"{describe(kind, self._host, detail)}; {counted(failures, 'attempt')}", kind=kind) from error
                self._sleep_before_retry(failures, f"{WHAT[kind]}: {type(error).__name__}")
                continue
            if _is_memento(response):  # an archived response: its status belongs to the captured site
                return response
            if response.status_code == 429:
                response.close()
                rate_limited += 1
                if rate_limited > self.max_rate_limit_waits:
                    raise RateLimited(f"{self._host} still answers 429 Too Many Requests after "
                                      f"{rate_limited - 1} back-offs")
                delay = max(self.min_backoff * 2 ** (rate_limited - 1), _retry_after(response))
                log.warning("%s answered 429 to %s; pausing all requests for %.1f s", self.base_url, endpoint, delay)
                self._limiters[endpoint].gate.close_for(delay)
                continue
            if response.status_code in RETRY_STATUSES:
                response.close()
                failures += 1
                if failures > self.retries:
                    raise WaybackUnavailable(
                        f"{describe(FailureKind.SERVER_ERROR, self._host)}: it answered {response.status_code} "
                        f"{failures} times in a row", kind=FailureKind.SERVER_ERROR)
                self._sleep_before_retry(failures, f"status {response.status_code}", _retry_after(response))
                continue
            return response

    def _sleep_before_retry(self, failures: int, why: str, at_least: float = 0.0) -> None:
        delay = max(self.retry_backoff * 2 ** (failures - 1), at_least)
        log.info("Wayback request failed (%s); retry %d in %.1f s", why, failures, delay)
        time.sleep(delay)


def _alternatives(values: Iterable[str]) -> str:
    values = list(values)
    return values[0] if len(values) == 1 else "(" + "|".join(values) + ")"


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise SaveFailed(f"Save Page Now answered {response.status_code} without JSON") from None
    return body if isinstance(body, dict) else {}
