"""The crawl WARC: one gzip member per record (compressible or not), readable and checkable by warcio."""

from __future__ import annotations

import random
import zlib
from types import SimpleNamespace

from warcio.archiveiterator import ArchiveIterator
from warcio.checker import Checker

from foiawatch.archive.warc import CrawlWarc


def test_records_round_trip_one_gzip_member_each(tmp_path):
    page = b"<html><body>" + b"<p>Secure Communities standard operating procedures</p>" * 2000 + b"</body></html>"
    scan = random.Random(7).randbytes(300_000)  # what a scanned PDF's image streams look like to deflate
    (tmp_path / "scan.pdf").write_bytes(scan)
    warc = CrawlWarc(tmp_path / "crawl.warc.gz", {"agency": "demo"})
    exchanges = {"http://agency.example/foia/": page, "http://agency.example/foia/scan.pdf": scan}
    warc.write_exchange("http://agency.example/foia/", "GET", [], 200, [("Content-Type", "text/html")], body=page)
    warc.write_exchange("http://agency.example/foia/scan.pdf", "GET", [], 200,
                        [("Content-Type", "application/pdf")], body_path=tmp_path / "scan.pdf")
    warc.close()

    data = (tmp_path / "crawl.warc.gz").read_bytes()
    members, rest = [], data
    while rest:  # each record is a gzip member of its own, as replay tools index them
        inflater = zlib.decompressobj(zlib.MAX_WBITS + 16)
        members.append(inflater.decompress(rest))
        rest = inflater.unused_data
    assert len(members) == 5  # warcinfo, then response and request for each exchange
    sizes = {}
    with open(tmp_path / "crawl.warc.gz", "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                url = record.rec_headers.get_header("WARC-Target-URI")
                assert record.content_stream().read() == exchanges[url]
                sizes[url] = record.length
    assert set(sizes) == set(exchanges)
    assert len(data) < len(page) / 10 + len(scan) + 4096, "the page is compressed"
    assert Checker(SimpleNamespace(inputs=[str(tmp_path / "crawl.warc.gz")], verbose=False)).process_all() == 0
