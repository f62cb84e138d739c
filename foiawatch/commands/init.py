"""``foiawatch init URL``: set foiawatch up on a library from one of its listing pages, no selectors written by hand.

The page is fetched politely (robots.txt obeyed), its layout recognised (:mod:`foiawatch.web.layout`), and an agency
config written whose comments say what was detected and why; a preview shows what a crawl would find on that page.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click
import requests
from rich.console import Console

from ..archive.vocabulary import counted
from ..config import DEFAULT_USER_AGENT, AgencyConfig, Politeness, config_to_toml
from ..web.answers import block_reason
from ..web.fetch import PoliteSession, describe_failure
from ..web.html import looks_like_html, page_title, parse_html
from ..web.layout import Layout, config_for, detect
from ..web.parse import read_sitemap
from ..web.survey import MAX_LISTING_BYTES, Survey, survey_page
from .check import print_survey
from .options import json_option

DEFAULT_CONFIG_DIR = "agencies"


@click.command()
@click.argument("url")
@click.option("--id", "agency_id", help="The agency's id (lowercase letters, digits, - and _). "
              "Default: made from the URL's host and path.")
@click.option("--name", help="The library's name in reports and alerts. Default: the page's title.")
@click.option("--config-dir", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("FOIAWATCH_CONFIG_DIR") or DEFAULT_CONFIG_DIR,
              show_default=f"$FOIAWATCH_CONFIG_DIR or ./{DEFAULT_CONFIG_DIR}",
              help="Directory to write ID.toml into (created if missing).")
@click.option("--head-budget", type=click.IntRange(0, 200), default=20, show_default=True,
              help="At most this many HEAD requests to learn what extension-less links serve.")
@click.option("--delay", type=click.FloatRange(0), default=Politeness().delay, show_default=True,
              help="Seconds between requests to the site.")
@click.option("--force", is_flag=True, help="Replace an existing ID.toml.")
@json_option
def init(url: str, agency_id: str | None, name: str | None, config_dir: Path, head_budget: int, delay: float,
         force: bool, as_json: bool) -> None:
    """Write an agency config for the library listed at URL, and preview what it finds.

    Recognises the document links (by extension, type hints, download-link shapes, and HEAD for links without an
    extension), the site's menus, the sections (headings over several documents, never an item's own title),
    the pagination (any parameter name) and the hosts documents are served from. Check the result with
    `foiawatch check ID`, then crawl with `foiawatch crawl ID`.
    """
    agency_id = agency_id or default_id(url)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", agency_id):
        raise click.ClickException(f"--id {agency_id!r} must be lowercase letters, digits, '-' or '_' "
                                   "(at most 64, starting with a letter or digit)")
    path = config_dir / f"{agency_id}.toml"
    if path.exists() and not force:
        raise click.ClickException(f"{path} already exists; choose another --id, or --force to replace it")
    politeness = Politeness(delay=delay, requests_per_minute=0, user_agent=DEFAULT_USER_AGENT)
    with PoliteSession(politeness) as session:
        final_url, body = _fetch_listing(session, url)
        layout = detect(body, final_url, ask=lambda link: _content_type(session, link), head_budget=head_budget,
                        read=lambda link: _page(session, link))
    config = config_for(layout, agency_id, name or page_title(parse_html(body)) or urlsplit(final_url).netloc)
    preview = survey_page(config, final_url, body)
    text = config_text(config, layout, url, final_url, preview)
    config_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    if as_json:
        click.echo(json.dumps({"config": str(path), "id": agency_id, **preview.as_json(),
                               "detected": [f"{f.what}: {f.why}" for f in layout.findings]}, indent=2))
        return
    console = Console()
    print_survey(console, config, preview)
    console.print(f"\nWrote [bold]{path}[/]. Look it over, then: [bold]foiawatch check {agency_id} "
                  f"--config-dir {config_dir}[/] and [bold]foiawatch crawl {agency_id} --config-dir {config_dir}[/]",
                  soft_wrap=True)


def config_text(config: AgencyConfig, layout: Layout, url: str, final_url: str, preview: Survey) -> str:
    """The config file init writes: the settings, with what was detected and why as comments."""
    return config_to_toml(config, _comments(layout), header=_header(url, final_url, layout, preview))


def default_id(url: str) -> str:
    """An id made from the URL's host (without ``www.``) and the last two parts of its path:
    ``https://www.justice.gov/olc/opinions`` gives ``justice-gov-olc-opinions``."""
    parts = urlsplit(url)
    host = (parts.hostname or "library").removeprefix("www.")
    path = [segment for segment in parts.path.split("/") if segment][-2:]
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join([host, *path]).lower()).strip("-")
    while len(slug) > 48 and "-" in slug:
        slug = slug.rsplit("-", 1)[0]
    return slug[:48] or "library"


def _fetch_listing(session: PoliteSession, url: str) -> tuple[str, bytes]:
    if not session.allowed(url):
        raise click.ClickException(f"the site's robots.txt does not allow fetching {url}; foiawatch will not "
                                   "watch it")
    try:
        fetched = session.fetch(url, MAX_LISTING_BYTES)
    except requests.RequestException as error:
        raise click.ClickException(f"could not fetch {url}: {describe_failure(error)}") from None
    blocked = block_reason(fetched.status, fetched.headers, fetched.body, url)
    if blocked:
        raise click.ClickException(f"{url} answered a block or challenge page ({blocked}), not the library; "
                                   "no config written. Try again later or from another network.")
    if not 200 <= fetched.status < 300:
        raise click.ClickException(f"{url} answered HTTP {fetched.status}; no config written. Is the URL right?")
    content_type = fetched.headers.get("Content-Type", fetched.headers.get("content-type", ""))
    if not looks_like_html(content_type, fetched.body) and read_sitemap(fetched.body) is None:
        raise click.ClickException(f"{url} serves {content_type or 'something'} that is not an HTML page; give the "
                                   "URL of the page (or XML sitemap) that lists the documents")
    return fetched.final_url, fetched.body


def _page(session: PoliteSession, url: str) -> bytes | None:
    """One sample page's body (a record's own page), or None when it cannot be read."""
    if not session.allowed(url):
        return None
    try:
        fetched = session.fetch(url, MAX_LISTING_BYTES)
    except requests.RequestException:
        return None
    ok = 200 <= fetched.status < 300 and not block_reason(fetched.status, fetched.headers, fetched.body, url)
    return fetched.body if ok else None


def _content_type(session: PoliteSession, url: str) -> str | None:
    """What a link serves, by HEAD (None when the question fails or robots.txt says no)."""
    if not session.allowed(url):
        return None
    try:
        response = session.send("HEAD", url)
        response.close()
    except requests.RequestException:
        return None
    if not 200 <= response.status_code < 300:
        return None
    return response.headers.get("Content-Type")


def _comments(layout: Layout) -> dict[str, list[str]]:
    """The findings, as comments over the keys they explain."""
    keys = {"documents with extension": "documents.extensions", "download links": "documents.url_patterns",
            "sections": "listing.section_selector", "not sections": "listing.section_selector",
            "left out as menus": "listing.ignore_selectors", "pagination": "listing.page_parameter",
            "documents served from": "agency.allowed_hosts", "unchecked link template": "documents.url_patterns",
            "records with parts": "listing.record_patterns"}
    comments: dict[str, list[str]] = {}
    for finding in layout.findings:
        key = next((k for prefix, k in keys.items() if finding.what.startswith(prefix)), None)
        if key:
            comments.setdefault(key, []).append(f"{finding.what} ({finding.why})")
    comments.setdefault("listing.content_selector", []).append(
        "the whole page is read; site chrome (header, navigation, footer, menus) is left out by ignore_selectors")
    if not layout.listing.section_selector:
        comments.setdefault("listing.section_selector", []).append(
            "no headings group several documents: every document is listed with no section")
    return comments


def _header(url: str, final_url: str, layout: Layout, preview: Survey) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Written by `foiawatch init` on {when} from {url}"]
    if final_url != url:
        lines.append(f"(which redirected to {final_url})")
    lines.append(f"On that page: {counted(len(preview.documents), 'document')} in "
                 f"{counted(len(preview.sections), 'section')}, "
                 f"{counted(len(preview.next_pages), 'further listing page')} linked"
                 + (f", page {layout.page_of[0]} of {layout.page_of[1]}" if layout.page_of else "") + ".")
    if layout.head_requests:
        lines.append(f"{counted(layout.head_requests, 'HEAD request')} asked what extension-less links serve.")
    lines.append("Every setting below may be edited; `foiawatch check ID` shows what the config finds.")
    return "\n".join(lines)

