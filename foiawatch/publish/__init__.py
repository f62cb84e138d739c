"""Publishing: the public database built from the archive, and the read-only Datasette instance that serves it."""

from .build import PublishStats, build_public
from .serve import PublicApp, make_datasette

__all__ = ["PublicApp", "PublishStats", "build_public", "make_datasette"]
