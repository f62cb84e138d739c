"""Where the public archive lives, for everything that links into it (the site itself, alert messages).

Which bytes are published is the PII screen's rule (``pii.is_withheld``: only screened-clean or released blobs);
this module says only how the public site names them.
"""

from __future__ import annotations

PUBLIC_DB_NAME = "public"  # the public database's file stem, and its name in Datasette URLs: /public/...
FILES_ROUTE = "/-/files/"  # where the public site serves published blobs: FILES_ROUTE + sha256
