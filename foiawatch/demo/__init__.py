"""A local, switchable imitation of an agency FOIA library, for tests, benchmarks and the `demo-site` command."""

from .library import (
    FAULTS,
    PRESETS,
    SECURE_COMMUNITIES_PARAGRAPH,
    SECURE_COMMUNITIES_SECTIONS,
    DemoLibrary,
    Document,
    LibraryState,
    LibraryView,
    preset,
)
from .site import OUTAGE_NOTICE, DemoSite, RequestRecord, serve_forever

__all__ = [
    "FAULTS",
    "OUTAGE_NOTICE",
    "PRESETS",
    "SECURE_COMMUNITIES_PARAGRAPH",
    "SECURE_COMMUNITIES_SECTIONS",
    "DemoLibrary",
    "DemoSite",
    "Document",
    "LibraryState",
    "LibraryView",
    "RequestRecord",
    "preset",
    "serve_forever",
]
