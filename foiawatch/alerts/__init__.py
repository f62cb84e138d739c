"""alerts/: subscriptions, digests and their delivery, and the operator's watch-the-watcher alerts.

Its state lives in the private database (``store``: ``<data-dir>/private.db``), never in the public archive. The
alerts step of a run is ``notify.run_alerts``; the guarantees of delivery are in ``outbox``'s docstring.
"""
