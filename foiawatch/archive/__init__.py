"""The store: the schema and its migrations, content-addressed blobs, WARCs, text extraction, the PII screen, and
the vocabulary and crawl verdict every layer above shares."""

from .datadir import DataDir
from .store import Archive

__all__ = ["Archive", "DataDir"]
