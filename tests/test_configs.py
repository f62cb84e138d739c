"""Bundled agency configs load and make sense; broken configs fail at load time naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import cssselect
import pytest

from foiawatch.config import ConfigError, bundled_config_dir, find_config, load_config
from foiawatch.web.urls import canonical_url, is_document_url

BUNDLED = sorted(bundled_config_dir().glob("*.toml"))
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def test_there_are_bundled_configs() -> None:
    assert {path.stem for path in BUNDLED} >= {"ice", "epa-hfstudy"}


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_config_loads_and_is_coherent(path: Path) -> None:
    config = load_config(path)
    assert config.id == path.stem  # find_config looks agencies up by file name
    assert find_config(config.id) == config
    for url in config.library_urls:
        assert canonical_url(url) == url
        assert config.host_allowed(url), f"{url} is not on an allowed host"
    listing = config.listing
    for selector in (listing.content_selector, listing.section_selector, listing.item_selector,
                     listing.next_page_selector, *listing.ignore_selectors):
        if selector:
            cssselect.parse(selector)  # config.py does not check selectors; a typo must not wait for a crawl
    assert len(config.schedule.split()) == 5
    if not set(config.allowed_hosts) <= LOCAL_HOSTS:  # real agencies get a polite crawl
        assert config.politeness.delay >= 1.0 and config.politeness.concurrency <= 4
        assert config.politeness.obey_robots


def test_ice_config_reads_doclib_files_as_documents() -> None:
    ice = load_config(bundled_config_dir() / "ice.toml")
    assert is_document_url("https://www.ice.gov/doclib/foia/reports/identIafisInteroperabilityStatsThroughDec2014.xlsx",
                           ice.documents)
    assert is_document_url("https://www.ice.gov/doclib/foia/memorandumsofAgreementUnderstanding/r_287g_moa.pdf",
                           ice.documents)
    assert not is_document_url("https://www.ice.gov/foia/library?page=3", ice.documents)
    assert ice.wayback.prefix == "www.ice.gov/doclib/foia/"
    assert ice.allowed_hosts == ("www.ice.gov",)
    assert ice.listing.title_section_separator == " | "


MINIMAL = """
[agency]
id = "test"
name = "Test library"
library_urls = ["https://www.agency.gov/foia/library"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agency.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.allowed_hosts == ("www.agency.gov",)
    assert config.removal_confirmations == 2
    assert "pdf" in config.documents.extensions


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[listing]\nbogus = "x"\n', "bogus"),
        ('[listing]\nfollow_patterns = "not a list"\n', "follow_patterns"),
        ('[politeness]\ndelay = "fast"\n', "delay"),
        ("[politeness]\nconcurrency = 1.5\n", "concurrency"),
        ("[politeness]\nobey_robots = 1\n", "obey_robots"),
        ("[politeness]\nconcurrency = 0\n", "concurrency"),
        ('[documents]\nurl_patterns = ["(unclosed"]\n', "url_patterns"),
        ('[documents]\nexclude_patterns = ["*.pdf"]\n', "exclude_patterns"),
        ('[listing]\nfollow_patterns = ["[a-"]\n', "follow_patterns"),
        ("[documents]\nmax_bytes = 0\n", "max_bytes"),
        ('[crawler]\ndelay = 1\n', "crawler"),
        ('listing = "main"\n', "listing"),
    ],
)
def test_invalid_section_values_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)) as error:
        load_config(write(tmp_path, MINIMAL + extra))
    assert "agency.toml" in str(error.value)


@pytest.mark.parametrize(
    ("agency", "key"),
    [
        ('id = "test"\nname = "T"\n', "library_urls"),
        ('id = "test"\nlibrary_urls = ["https://a.gov/"]\n', "name"),
        ('name = "T"\nlibrary_urls = ["https://a.gov/"]\n', "id"),
        ('id = "test"\nname = "T"\nlibrary_urls = []\n', "library_urls"),
        ('id = "test"\nname = "T"\nlibrary_urls = "https://a.gov/"\n', "library_urls"),
        ('id = "test"\nname = "T"\nlibrary_urls = ["ftp://a.gov/lib"]\n', "library_urls"),
        ('id = "test"\nname = "T"\nlibrary_urls = ["www.ice.gov/foia/library"]\n', "library_urls"),
        ('id = "Bad Id"\nname = "T"\nlibrary_urls = ["https://a.gov/"]\n', "id"),
        ('id = "test"\nname = "T"\nlibrary_urls = ["https://a.gov/"]\nremoval_confirmations = 0\n',
         "removal_confirmations"),
        ('id = "test"\nname = "T"\nlibrary_urls = ["https://a.gov/"]\nallowed_hosts = "a.gov"\n', "allowed_hosts"),
        ('id = "test"\nname = "T"\nlibrary_urls = ["https://a.gov/"]\nfrequency = 3\n', "frequency"),
    ],
)
def test_invalid_agency_table_names_the_key(tmp_path: Path, agency: str, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        load_config(write(tmp_path, "[agency]\n" + agency))


def test_missing_agency_table_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing \[agency\]"):
        load_config(write(tmp_path, '[listing]\nmax_pages = 3\n'))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, MINIMAL + "[listing\n"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="known agencies: .*ice"):
        find_config("no-such-agency")


def test_malformed_library_url_host_names_the_key(tmp_path: Path) -> None:
    text = '[agency]\nid = "test"\nname = "T"\nlibrary_urls = ["https://[www.agency.gov/foia"]\n'
    with pytest.raises(ConfigError, match="library_urls"):
        load_config(write(tmp_path, text))


def test_bad_css_selector_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="content_selector"):
        load_config(write(tmp_path, MINIMAL + '[listing]\ncontent_selector = "main[["\n'))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[politeness]\ndelay = -1\n', "'delay' must be at least 0"),
        ('[politeness]\ntimeout = 0\n', "'timeout' must be more than 0"),
        ('[outage]\nfailed_page_share = 1.5\n', "'failed_page_share' must be more than 0 and at most 1"),
        ('[listing]\nmax_pages = 0\n', "'max_pages' must be at least 1"),
        ('[wayback]\nschedule = "every day"\n', "'schedule' is not a cron expression"),
    ],
)
def test_out_of_range_values_name_the_key(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, MINIMAL + extra))


def test_allowed_hosts_must_include_the_library_host(tmp_path: Path) -> None:
    text = ('[agency]\nid = "test"\nname = "T"\nlibrary_urls = ["https://www.agency.gov/foia"]\n'
            'allowed_hosts = ["cdn.agency.gov"]\n')
    with pytest.raises(ConfigError, match="allowed_hosts.*www.agency.gov"):
        load_config(write(tmp_path, text))
