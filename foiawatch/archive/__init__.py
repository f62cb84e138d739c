"""The store: SQLite schema, content-addressed blobs, WARC, text extraction, PII screen."""

from .store import COMPLETE, INCOMPLETE, OUTAGE, RUNNING, Archive

__all__ = ["Archive", "COMPLETE", "INCOMPLETE", "OUTAGE", "RUNNING"]
