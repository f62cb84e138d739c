"""Publishing: the public database built from the archive, and the read-only Datasette instance that serves it.

``serve`` is loaded on first use: Datasette loads this package's plugin (``publish.plugin``, its entry point)
while it imports its own plugin manager, when importing ``datasette.app`` would be circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .build import PublishStats, build_public

if TYPE_CHECKING:
    from .serve import PublicApp, make_datasette

__all__ = ["PublicApp", "PublishStats", "build_public", "make_datasette"]


def __getattr__(name: str) -> Any:
    if name in ("PublicApp", "make_datasette"):
        from . import serve

        return getattr(serve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
