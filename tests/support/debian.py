"""Debian packages a test needs (Chromium for the browser tests, Tesseract for OCR), installed when missing.

CI machines start without them; as root with apt-get the tests install them, else they skip with the command to
run. Test workers running side by side (pytest -n) take turns through a lock file: dpkg allows one install at a time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

LOCK = Path(tempfile.gettempdir()) / "foiawatch-tests-apt.lock"


def install(package: str, present: Callable[[], bool]) -> str | None:
    """Install ``package`` unless ``present()``; why it cannot be had, or None once it is there."""
    if present():
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return f"{package} is missing, and apt-get is unavailable or not root: run `apt-get install -y {package}`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if present():  # another worker installed it while this one waited
            return None
        error = ""
        for command in (["apt-get", "install", "-y", "-q", package], ["apt-get", "update", "-q"],
                        ["apt-get", "install", "-y", "-q", package]):
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
            except subprocess.TimeoutExpired:
                return f"`{' '.join(command)}` timed out"
            error = done.stderr.strip()[-300:]
            if command[1] == "install" and done.returncode == 0 and present():
                return None
    return f"apt-get could not install {package}: {error}"
