"""Content-addressed blob store: every byte string is stored once, under its sha256, written atomically.

A blob file either does not exist or holds exactly the bytes its name promises: files are written to a
temporary name, hashed again from disk, fsynced and only then renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class BlobError(Exception):
    """A blob could not be stored or does not match its hash."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    relative_path: str


def sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class BlobStore:
    def __init__(self, root: Path, tmp: Path):
        self.root = root
        self.tmp = tmp

    def relative_path(self, sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise BlobError(f"not a sha256 hex digest: {sha256!r}")
        return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def path(self, sha256: str) -> Path:
        return self.root / self.relative_path(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, source: Path, sha256: str) -> StoredBlob:
        """Move ``source`` into the store under ``sha256`` after checking its bytes really hash to it.

        The source file is consumed either way. If the blob is already present, the new copy is dropped.
        """
        actual, size = sha256_file(source)
        if actual != sha256:
            source.unlink(missing_ok=True)
            raise BlobError(f"download changed on disk: expected sha256 {sha256}, got {actual}")
        target = self.path(sha256)
        if target.is_file() and target.stat().st_size == size:
            source.unlink(missing_ok=True)
            return StoredBlob(sha256, size, self.relative_path(sha256))
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(source, target)
        _fsync_directory(target.parent)
        return StoredBlob(sha256, size, self.relative_path(sha256))

    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_stream([data])

    def put_stream(self, chunks: Iterable[bytes]) -> StoredBlob:
        """Store bytes from an iterable of chunks (used by recovery and tests)."""
        digest = hashlib.sha256()
        self.tmp.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self.tmp, prefix="blob-", delete=False)
        try:
            with handle:
                for chunk in chunks:
                    digest.update(chunk)
                    handle.write(chunk)
            return self.put(Path(handle.name), digest.hexdigest())
        finally:
            Path(handle.name).unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def verify(self, sha256: str) -> bool:
        """True when the blob file exists and still hashes to its name."""
        path = self.path(sha256)
        return path.is_file() and sha256_file(path)[0] == sha256

    def iter_files(self) -> Iterable[Path]:
        return (p for p in self.root.glob("*/*/*") if p.is_file())


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
