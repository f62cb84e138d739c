"""Process-wide, thread-safe pacing of requests to a remote service.

Services such as the Wayback Machine limit an IP address, not a client object, and punish clients that keep
sending after a 429 (the Wayback Machine blocks the IP for an hour, doubling). So pacing lives in objects that
every thread and every client talking to the same service share, and a 429 seen by one thread pauses them all.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["Gate", "RateLimiter", "shared_gate", "shared_limiter"]


class Gate:
    """A shared "nobody sends before" time, set when the service says we are too fast."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed_until = 0.0

    def close_for(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never shortens a longer pause already set)."""
        with self._lock:
            self._closed_until = max(self._closed_until, time.monotonic() + seconds)

    def remaining(self) -> float:
        """Seconds until requests may flow again (0 when open)."""
        with self._lock:
            return max(0.0, self._closed_until - time.monotonic())


class RateLimiter:
    """Spaces calls at least ``per / rate`` seconds apart, whichever thread makes them.

    Even spacing (not a token bucket) means no window of any length ever holds more calls than the rate allows,
    so a burst can never trip the service's own limiter.
    """

    def __init__(self, rate: float, per: float = 1.0, gate: Gate | None = None) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError(f"rate and per must be positive (got rate={rate}, per={per})")
        self.interval = per / rate
        self.gate = gate or Gate()
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> float:
        """Block until the caller may send one request; return the seconds spent waiting."""
        started = time.monotonic()
        while True:
            with self._lock:
                now = time.monotonic()
                wait = max(self._next - now, self.gate.remaining())
                if wait <= 0:
                    self._next = now + self.interval
                    return now - started
            # Sleep outside the lock so a pause set meanwhile by another thread is seen on the next pass.
            time.sleep(wait)


_registry_lock = threading.Lock()
_gates: dict[str, Gate] = {}
_limiters: dict[tuple[str, float, float], RateLimiter] = {}


def shared_gate(service: str) -> Gate:
    """The one gate of a service in this process."""
    with _registry_lock:
        return _gates.setdefault(service, Gate())


def shared_limiter(name: str, rate: float, per: float, gate: Gate) -> RateLimiter:
    """The one limiter for ``name`` at this rate in this process, so separate clients do not add up their rates."""
    key = (name, rate, per)
    with _registry_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter(rate, per, gate)
        return limiter


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """The seconds a ``Retry-After`` header asks for (delay-seconds or an HTTP date), or None without a usable one."""
    value = (value or "").strip()
    if re.fullmatch(r"\d+", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; a malformed one may carry no zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
