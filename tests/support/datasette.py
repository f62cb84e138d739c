"""A Datasette server in its own process, as deployed: ``foiawatch serve`` or plain ``datasette``."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def answering(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``command`` (a Datasette listening on ``port``); its URL once it answers, stopped afterwards."""
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a start-up wait, generous for a loaded machine
        while True:
            try:
                httpx.get(url + "/-/versions.json", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.communicate()[0].decode()
                assert time.monotonic() < deadline, f"{command[0]} did not answer on port {port}"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)
