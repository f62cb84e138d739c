"""Agency configuration: one TOML file per monitored library, validated on load.

A bad config must fail loudly at load time with the offending key named, never half-way through a crawl.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cssselect
import tomlkit
from apscheduler.triggers.cron import CronTrigger

WAYBACK_BASE_URL = "https://web.archive.org"  # the real service; [wayback] base_url points elsewhere
DEFAULT_USER_AGENT = "foiawatch/0.1 (+https://github.com/foiawatch/foiawatch; public-records monitor)"
DEFAULT_DOCUMENT_EXTENSIONS = (
    "pdf", "doc", "docx", "xls", "xlsx", "csv", "zip", "txt", "rtf", "ppt", "pptx", "odt", "ods", "xml", "json",
)
DEFAULT_OUTAGE_NOTICES = (
    "temporarily unavailable",
    "undergoing review",
    "site is down for maintenance",
    "currently unavailable",
)


class ConfigError(ValueError):
    """A config file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class DocumentRules:
    """Which links on a listing page are documents."""

    extensions: tuple[str, ...] = DEFAULT_DOCUMENT_EXTENSIONS
    url_patterns: tuple[str, ...] = ()  # regexes; a match makes a link a document whatever its extension
    exclude_patterns: tuple[str, ...] = ()
    max_bytes: int = 250 * 1024 * 1024
    # Records may be web pages (FOIA logs, landing pages, a list of publication pages): an HTML answer at a
    # record's URL is then the record itself (archived, its main text diffed), never a soft 404 by itself.
    # True by default for a library_file of URLs.
    pages: bool = False


@dataclass(frozen=True)
class ListingRules:
    """How to read a listing page: where content is, how sections are marked, how to find more pages."""

    content_selector: str = "main, #main-content, #content, .region-content, body"
    section_selector: str = "h2, h3, .view-grouping-header, table caption"  # "": the page has no sections
    item_selector: str = ""  # optional: one element per document (e.g. li.usa-collection__item)
    title_section_separator: str = ""  # e.g. " | " when titles read "Title | Section"
    ignore_selectors: tuple[str, ...] = (
        "script", "style", "noscript", "nav", "header", "footer", "form",
        ".usa-alert", ".alert", "#sitewide-alert", ".sitewide-alert", ".usa-banner", "#wm-ipp-base", "#wm-ipp",
    )
    next_page_selector: str = (
        "a.usa-pagination__next-page, li.pager-next a, li.pager__item--next a, a[rel~=next]"
    )
    follow_patterns: tuple[str, ...] = ()  # regexes of further listing pages (section pages) to crawl
    # Regexes of record pages: a listed record whose own page lists its parts (FBI Vault: a record, its PDF parts).
    record_patterns: tuple[str, ...] = ()
    max_pages: int = 1000
    page_parameter: str = "page"  # the query parameter numbered pages differ in (?page=N; DNN: smdpage12345)


@dataclass(frozen=True)
class Politeness:
    delay: float = 1.0  # at least this many seconds between two requests to one host
    # The per-host budget: at most this many requests a minute to one host, whatever the concurrency (0: no budget,
    # for a library on this machine). A robots.txt Crawl-delay and a 429/503 Retry-After slow it further.
    requests_per_minute: float = 30.0
    concurrency: int = 4
    obey_robots: bool = True
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 60.0
    retries: int = 2

    @property
    def interval(self) -> float:
        """The fewest seconds between two requests to one host: the delay or the budget, whichever is slower."""
        return max(self.delay, 60.0 / self.requests_per_minute if self.requests_per_minute > 0 else 0.0)


@dataclass(frozen=True)
class Passes:
    """Listing-first monitoring: frequent watch passes over the listing pages only (takedowns seen within minutes),
    and rarer revalidation passes that re-check documents' bytes (edits seen within ``revalidate_days``)."""

    watch: str = ""  # cron of watch passes, e.g. "*/10 * * * *"; "" runs full crawls on [agency] schedule instead
    revalidate: str = "0 3 * * *"  # cron of revalidation passes (when watch is set)
    revalidate_days: float = 7.0  # every document re-checked at least this often
    revalidate_requests: int = 0  # at most this many document requests a revalidation pass (0: as many as due)
    # A watch pass that leaves documents one confirmation short is followed by another this many minutes later,
    # not at the next watch time: the same rule (consecutive complete passes, each probing), announced sooner.
    # 0: wait for the next scheduled pass.
    confirm_after: float = 5.0

    def revalidate_share(self) -> float:
        """The share of the documents one revalidation pass re-checks so that, at the pass's cadence, each is
        re-checked within ``revalidate_days`` (1.0 when passes are rarer than that)."""
        return min(1.0, cron_period(self.revalidate) / (self.revalidate_days * 86400))


@dataclass(frozen=True)
class OutageRules:
    notices: tuple[str, ...] = DEFAULT_OUTAGE_NOTICES
    failed_page_share: float = 0.5  # more than this share of listing pages failing is an outage


@dataclass(frozen=True)
class WaybackSettings:
    prefix: str = ""  # CDX prefix under which the library's documents live, e.g. "www.ice.gov/doclib/foia/"
    prefixes: tuple[str, ...] = ()  # more prefixes, for documents filed in several places (or on several hosts)
    base_url: str = WAYBACK_BASE_URL
    schedule: str = "0 3 * * 0"
    # Opt-in: ask Save Page Now to capture each newly seen document (needs FOIAWATCH_IA_ACCESS_KEY and
    # FOIAWATCH_IA_SECRET_KEY), at most save_per_run a run within the service's limits.
    save_new: bool = False
    save_per_run: int = 20
    probes_per_run: int = 500  # live probes of captured, never-listed URLs a run; the rest wait for the next run


    @property
    def all_prefixes(self) -> tuple[str, ...]:
        """Every CDX prefix the library's documents live under, once each."""
        return tuple(dict.fromkeys(p.strip() for p in (self.prefix, *self.prefixes) if p.strip()))


@dataclass(frozen=True)
class AgencyConfig:
    id: str
    name: str
    library_urls: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    schedule: str = "0 */6 * * *"
    removal_confirmations: int = 2
    library_file: str = ""  # a CSV of the records' URLs watched as a set (absolute once loaded; see read_url_list)
    documents: DocumentRules = field(default_factory=DocumentRules)
    listing: ListingRules = field(default_factory=ListingRules)
    politeness: Politeness = field(default_factory=Politeness)
    outage: OutageRules = field(default_factory=OutageRules)
    wayback: WaybackSettings = field(default_factory=WaybackSettings)
    passes: Passes = field(default_factory=Passes)
    source: str = ""  # where the config was loaded from, for messages

    def host_allowed(self, url: str) -> bool:
        return on_allowed_host(url, self.allowed_hosts)


def on_allowed_host(url: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether the URL's host is one of ``allowed_hosts`` or its ``www.`` twin (case-insensitive; ports ignored):
    ``agency.gov`` covers ``www.agency.gov`` and the other way round, as sites link both."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return bool(host) and _without_www(host) in {_without_www(allowed) for allowed in allowed_hosts}


@dataclass(frozen=True)
class ListedUrl:
    """One row of a library_file: a record's URL, and the title and section it is listed under."""

    url: str
    title: str = ""
    section: str = ""


def read_url_list(path: str | Path) -> list[ListedUrl]:
    """The rows of a URL-list library's CSV (a ``url`` column; ``title`` and ``section`` optional), once each in
    file order. Raises ConfigError naming the line of a row whose URL is not http(s)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = {name.strip().lower(): name for name in reader.fieldnames or []}
            if "url" not in columns:
                raise ConfigError(f"{path}: no 'url' column (found: {', '.join(columns) or 'nothing'})")
            rows: dict[str, ListedUrl] = {}
            for line, row in enumerate(reader, start=2):
                url = (row.get(columns["url"]) or "").strip()
                if not url:
                    continue
                if not _is_http_url(url):
                    raise ConfigError(f"{path}, line {line}: {url!r} is not an http(s) URL")
                rows.setdefault(url, ListedUrl(url, (row.get(columns.get("title", "")) or "").strip(),
                                               (row.get(columns.get("section", "")) or "").strip()))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the library_file ({error.strerror or error})") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise ConfigError(f"{path}: not a UTF-8 CSV file ({error})") from None
    return list(rows.values())


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _without_www(host: str) -> str:
    return host.lower().removeprefix("www.")


_SECTIONS = {
    "documents": DocumentRules,
    "listing": ListingRules,
    "politeness": Politeness,
    "outage": OutageRules,
    "wayback": WaybackSettings,
    "passes": Passes,
}
_AGENCY_ORDER = ("id", "name", "library_urls", "library_file", "allowed_hosts", "schedule", "removal_confirmations")
_AGENCY_KEYS = set(_AGENCY_ORDER)
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _coerce(where: str, key: str, value: Any, default: Any) -> Any:
    """Check a TOML value against the type of the dataclass default; lists become tuples."""
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: '{key}' must be a list of strings")
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: '{key}' must be true or false")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: '{key}' must be a number")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: '{key}' must be a whole number")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string")
    return value


def _build(cls: type, where: str, table: Any) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")
    defaults = cls()
    values = {k: _coerce(where, k, v, getattr(defaults, k)) for k, v in table.items()}
    return cls(**values)


def _check_regexes(where: str, key: str, patterns: tuple[str, ...]) -> None:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ConfigError(f"{where}: '{key}' has an invalid regular expression {pattern!r}: {error}") from None


def _check_selectors(where: str, rules: ListingRules) -> None:
    selectors = {"content_selector": [rules.content_selector],  # the optional ones may be "" (none)
                 "section_selector": [rules.section_selector] if rules.section_selector else [],
                 "item_selector": [rules.item_selector] if rules.item_selector else [],
                 "next_page_selector": [rules.next_page_selector], "ignore_selectors": list(rules.ignore_selectors)}
    for key, values in selectors.items():
        for selector in values:
            try:
                cssselect.parse(selector)
            except cssselect.SelectorError as error:
                raise ConfigError(f"{where}: '{key}' has an invalid CSS selector {selector!r}: {error}") from None


def _check_cron(where: str, key: str, expression: str) -> None:
    try:
        cron_trigger(expression)
    except ValueError as error:
        raise ConfigError(f"{where}: '{key}' is not a cron expression ({expression!r}: {error})") from None


def cron_trigger(expression: str) -> CronTrigger:
    """A crontab expression read as cron reads it, in UTC. APScheduler 3's ``from_crontab`` takes day-of-week 0
    for Monday (its issue 286), so numeric days are translated to names first: 0 and 7 are Sunday."""
    parts = expression.split()
    if len(parts) == 5 and any(c.isdigit() for c in parts[4]):
        parts[4] = ",".join(_weekday_names(parts[4]))
    return CronTrigger.from_crontab(" ".join(parts), timezone=UTC)


def cron_period(expression: str) -> float:
    """Seconds between two runs of a cron expression (the first two after now; the longest gap of a day for
    expressions whose gaps vary, so a share computed from it is never too small)."""
    trigger = cron_trigger(expression)
    now = datetime.now(UTC)
    times, previous = [], None
    for _ in range(64):
        fire = trigger.get_next_fire_time(previous, previous or now)
        if fire is None:
            break
        times.append(fire)
        if fire - times[0] > timedelta(days=1) and len(times) > 2:
            break
        previous = fire + timedelta(seconds=1)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    return max(gaps) if gaps else 86400.0


def _weekday_names(field: str) -> list[str]:
    names = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        low, _, high = ("0-6" if span == "*" else span).partition("-")
        first = int(low)
        last = int(high) if high else (6 if step else first)
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return [names[day] for day in sorted(days)]


def _check_range(where: str, key: str, value: float, low: float, high: float | None = None,
                 low_inclusive: bool = True) -> None:
    too_low = value < low if low_inclusive else value <= low
    if too_low or (high is not None and value > high):
        bound = f"{'at least' if low_inclusive else 'more than'} {low}" + (f" and at most {high}" if high else "")
        raise ConfigError(f"{where}: '{key}' must be {bound} (got {value})")


def parse_config(data: dict[str, Any], source: str = "<config>") -> AgencyConfig:
    """Validate a decoded TOML document and build an AgencyConfig."""
    agency = data.get("agency")
    if not isinstance(agency, dict):
        raise ConfigError(f"{source}: missing [agency] table")
    unknown_tables = sorted(set(data) - set(_SECTIONS) - {"agency"})
    if unknown_tables:
        raise ConfigError(f"{source}: unknown table [{unknown_tables[0]}]")
    unknown = sorted(set(agency) - _AGENCY_KEYS)
    if unknown:
        raise ConfigError(f"{source}: [agency] unknown key '{unknown[0]}'")
    for key in ("id", "name"):
        if key not in agency:
            raise ConfigError(f"{source}: [agency] missing required key '{key}'")
    if "library_urls" not in agency and "library_file" not in agency:
        raise ConfigError(f"{source}: [agency] missing required key 'library_urls' (or 'library_file', a CSV of "
                          "URLs)")
    where = f"{source}: [agency]"
    agency_id = _coerce(where, "id", agency["id"], "")
    if not _ID_PATTERN.match(agency_id):
        raise ConfigError(f"{where} 'id' must be lowercase letters, digits, '-' or '_' (got {agency_id!r})")
    library_urls = _coerce(where, "library_urls", agency.get("library_urls", []), ())
    library_file = _library_file(where, source, _coerce(where, "library_file", agency.get("library_file", ""), ""))
    if not library_urls and not library_file:
        raise ConfigError(f"{where} 'library_urls' must name at least one URL")
    for url in library_urls:
        if not _is_http_url(url):
            raise ConfigError(f"{where} 'library_urls' has {url!r}, which is not an http(s) URL")
    listed = [row.url for row in read_url_list(library_file)] if library_file else []
    if library_file and not listed:
        raise ConfigError(f"{where} 'library_file' {library_file} lists no URL")
    allowed = agency.get("allowed_hosts")
    allowed_hosts = (
        tuple(h.lower() for h in _coerce(where, "allowed_hosts", allowed, ()))
        if allowed is not None
        else tuple(sorted({(urlsplit(u).hostname or "").lower() for u in [*library_urls, *listed]}))
    )
    library_hosts = {(urlsplit(u).hostname or "").lower() for u in library_urls}
    covered = {_without_www(host) for host in allowed_hosts}
    if any(_without_www(host) not in covered for host in library_hosts):
        missing = sorted(host for host in library_hosts if _without_www(host) not in covered)[0]
        raise ConfigError(f"{where} 'allowed_hosts' must include the library's host {missing!r}")
    confirmations = _coerce(where, "removal_confirmations", agency.get("removal_confirmations", 2), 0)
    if confirmations < 1:
        raise ConfigError(f"{where} 'removal_confirmations' must be at least 1")
    sections = {name: _build(cls, f"{source}: [{name}]", data.get(name, {})) for name, cls in _SECTIONS.items()}
    if library_file and "pages" not in data.get("documents", {}):
        sections["documents"] = replace(sections["documents"], pages=True)
    _check_regexes(f"{source}: [documents]", "url_patterns", sections["documents"].url_patterns)
    _check_regexes(f"{source}: [documents]", "exclude_patterns", sections["documents"].exclude_patterns)
    _check_regexes(f"{source}: [listing]", "follow_patterns", sections["listing"].follow_patterns)
    _check_regexes(f"{source}: [listing]", "record_patterns", sections["listing"].record_patterns)
    _check_selectors(f"{source}: [listing]", sections["listing"])
    politeness, listing = sections["politeness"], sections["listing"]
    _check_range(f"{source}: [politeness]", "concurrency", politeness.concurrency, 1)
    _check_range(f"{source}: [politeness]", "delay", politeness.delay, 0)
    _check_range(f"{source}: [politeness]", "timeout", politeness.timeout, 0, low_inclusive=False)
    _check_range(f"{source}: [politeness]", "retries", politeness.retries, 0)
    _check_range(f"{source}: [politeness]", "requests_per_minute", politeness.requests_per_minute, 0)
    passes = sections["passes"]
    if passes.watch:
        _check_cron(f"{source}: [passes]", "watch", passes.watch)
        if not library_urls:
            raise ConfigError(f"{source}: [passes] 'watch' needs listing pages (library_urls): every URL of a "
                              "library_file is fetched by each crawl already")
    _check_cron(f"{source}: [passes]", "revalidate", passes.revalidate)
    _check_range(f"{source}: [passes]", "revalidate_days", passes.revalidate_days, 0, low_inclusive=False)
    _check_range(f"{source}: [passes]", "revalidate_requests", passes.revalidate_requests, 0)
    _check_range(f"{source}: [passes]", "confirm_after", passes.confirm_after, 0)
    _check_range(f"{source}: [wayback]", "probes_per_run", sections["wayback"].probes_per_run, 1)
    _check_range(f"{source}: [documents]", "max_bytes", sections["documents"].max_bytes, 1)
    _check_range(f"{source}: [listing]", "max_pages", listing.max_pages, 1)
    _check_range(f"{source}: [outage]", "failed_page_share", sections["outage"].failed_page_share, 0, 1,
                 low_inclusive=False)
    schedule = _coerce(where, "schedule", agency.get("schedule", "0 */6 * * *"), "")
    _check_cron(where, "schedule", schedule)
    _check_cron(f"{source}: [wayback]", "schedule", sections["wayback"].schedule)
    _check_range(f"{source}: [wayback]", "save_per_run", sections["wayback"].save_per_run, 1)
    return AgencyConfig(
        id=agency_id,
        name=_coerce(where, "name", agency["name"], ""),
        library_urls=library_urls,
        library_file=library_file,
        allowed_hosts=allowed_hosts,
        schedule=schedule,
        removal_confirmations=confirmations,
        source=source,
        **sections,
    )


def _library_file(where: str, source: str, value: str) -> str:
    """A library_file as an absolute path: relative paths are read from the config file's directory."""
    if not value:
        return ""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (Path(source).parent if Path(source).exists() else Path.cwd()) / path
    if not path.is_file():
        raise ConfigError(f"{where} 'library_file' {str(path)!r} does not exist")
    return str(path.resolve())


def load_config(path: str | Path) -> AgencyConfig:
    """Load one agency config file; raises ConfigError naming the file and key on any problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return parse_config(data, str(path))


def bundled_config_dir() -> Path:
    return Path(str(resources.files("foiawatch") / "agencies"))


def find_config(agency: str, config_dir: str | Path | None = None) -> AgencyConfig:
    """Resolve an agency name (or a path to a .toml file) to its config."""
    candidate = Path(agency)
    if candidate.suffix == ".toml" and candidate.exists():
        return load_config(candidate)
    directories = [Path(config_dir)] if config_dir else []
    directories.append(bundled_config_dir())
    for directory in directories:
        path = directory / f"{agency}.toml"
        if path.exists():
            return load_config(path)
    known = sorted({p.stem for d in directories if d.is_dir() for p in d.glob("*.toml")})
    raise ConfigError(f"no config for agency {agency!r}; known agencies: {', '.join(known) or 'none'}")


def config_to_toml(config: AgencyConfig, comments: dict[str, list[str]] | None = None, header: str = "") -> str:
    """A config as a TOML file a person can read: the [agency] keys, then only the settings that differ from the
    defaults, each under its comments (``comments`` is keyed ``"table.key"``, e.g. ``"listing.page_parameter"``).
    The text is checked by reading it back: what is written is what ``load_config`` will read."""
    comments = comments or {}
    data = config_to_dict(config)
    defaults = config_to_dict(AgencyConfig(id=config.id, name=config.name, library_urls=config.library_urls,
                                           allowed_hosts=config.allowed_hosts))
    document = tomlkit.document()
    for line in header.splitlines():
        document.add(tomlkit.comment(line) if line.strip() else tomlkit.nl())
    for table_name, values in data.items():
        table = tomlkit.table()
        order = _AGENCY_ORDER if table_name == "agency" else tuple(values)
        for key in order:
            value = values[key]
            if value == defaults[table_name][key] and (table_name != "agency" or value in ("", ())) \
                    and key not in ("id", "name"):
                continue
            for line in comments.get(f"{table_name}.{key}", []):
                table.add(tomlkit.comment(line))
            if isinstance(value, tuple):
                value = tomlkit.array().multiline(len(value) > 3)
                value.extend(values[key])
            table.add(key, value)
        if table_name == "agency" or len(table):
            document.add(tomlkit.nl())
            document.add(table_name, table)
    text = tomlkit.dumps(document)
    if parse_config(tomllib.loads(text), "<written config>") != replace(config, source="<written config>"):
        raise ConfigError("the written config does not read back as the same config")  # a bug, never user input
    return text


def config_to_dict(config: AgencyConfig) -> dict[str, Any]:
    """The TOML-shaped dict ``parse_config`` reads: how a config travels to a crawl process and into the archive."""
    data = asdict(config)
    data.pop("source")
    agency = {key: data.pop(key) for key in sorted(_AGENCY_KEYS)}
    return {"agency": agency, **data}
