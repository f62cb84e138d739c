"""Alert settings, read from environment variables: they hold secrets (SMTP password) and differ per deployment,
so they live outside the agency configs and never in the public archive."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SETTINGS_HELP = """\b
Alert settings (environment variables):
  FOIAWATCH_SMTP_URL        smtp://[user:pass@]host[:port], smtp+starttls://... or smtps://...
  FOIAWATCH_MAIL_FROM       sender address (default foiawatch@localhost)
  FOIAWATCH_PUBLIC_URL      base URL of the public archive, for links in messages
  FOIAWATCH_MANAGE_URL      base URL of a page taking /confirm/TOKEN and /unsubscribe/TOKEN
  FOIAWATCH_OPERATOR_EMAIL  operator's address for watch-the-watcher alerts
  FOIAWATCH_OPERATOR_WEBHOOK  operator's webhook for the same
  FOIAWATCH_ALLOW_PRIVATE_WEBHOOKS  1 to allow webhooks on loopback/private addresses
  FOIAWATCH_STALE_AFTER     alert when an agency has no complete crawl for this long (default 2d)
  FOIAWATCH_FAILED_RUNS     alert after this many failed runs of an agency in a row (default 3)
  FOIAWATCH_BLOCKED_PROBES  alert when a host answers this many delisted-document probes in a row with a
                            block page (default 3)
  FOIAWATCH_DELIVERY_FAILURES  alert after a message failed this many attempts (default 3)
  FOIAWATCH_RETRY_BASE / FOIAWATCH_RETRY_MAX  delivery back-off, doubling (default 5m / 6h)
  FOIAWATCH_MAX_ATTEMPTS    give a message up after this many attempts (default 12)
Durations are seconds or a number with s, m, h or d.
"""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TRUE = {"1", "true", "yes", "on"}


def parse_duration(text: str) -> float:
    """Seconds in "90", "90s", "15m", "36h" or "2d"."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use seconds or a number with s, m, h or d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # "plain", "starttls" or "tls"
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class AlertSettings:
    smtp_url: str | None = None
    mail_from: str = "foiawatch@localhost"
    public_url: str | None = None
    manage_url: str | None = None
    operator_email: str | None = None
    operator_webhook: str | None = None
    allow_private_webhooks: bool = False
    stale_after: float = 2 * 86400.0
    failed_runs: int = 3
    blocked_probes: int = 3
    delivery_failures: int = 3
    retry_base: float = 300.0
    retry_max: float = 6 * 3600.0
    max_attempts: int = 12
    timeout: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertSettings:
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            return env.get(f"FOIAWATCH_{name}", "").strip() or None

        def number(name: str, default: float, parse=parse_duration) -> float:
            value = text(name)
            try:
                return parse(value) if value else default
            except ValueError as error:
                raise ValueError(f"FOIAWATCH_{name}: {error}") from None

        def count(name: str, default: int) -> int:
            return int(number(name, default, _positive_int))

        settings = cls(
            smtp_url=text("SMTP_URL"),
            mail_from=text("MAIL_FROM") or cls.mail_from,
            public_url=(text("PUBLIC_URL") or "").rstrip("/") or None,
            manage_url=(text("MANAGE_URL") or "").rstrip("/") or None,
            operator_email=text("OPERATOR_EMAIL"),
            operator_webhook=text("OPERATOR_WEBHOOK"),
            allow_private_webhooks=(text("ALLOW_PRIVATE_WEBHOOKS") or "").lower() in _TRUE,
            stale_after=number("STALE_AFTER", cls.stale_after),
            failed_runs=count("FAILED_RUNS", cls.failed_runs),
            blocked_probes=count("BLOCKED_PROBES", cls.blocked_probes),
            delivery_failures=count("DELIVERY_FAILURES", cls.delivery_failures),
            retry_base=number("RETRY_BASE", cls.retry_base),
            retry_max=number("RETRY_MAX", cls.retry_max),
            max_attempts=count("MAX_ATTEMPTS", cls.max_attempts),
        )
        if settings.smtp_url:
            settings.smtp()  # fail at start-up, not at the first alert
        return settings

    def manage_link(self, action: str, token: str) -> str | None:
        """The confirm or unsubscribe link for a token, when a page for them is configured."""
        return f"{self.manage_url}/{action}/{token}" if self.manage_url else None

    def smtp(self) -> SmtpServer | None:
        """The SMTP server from ``smtp_url``, or None when email is not configured."""
        if not self.smtp_url:
            return None
        parts = urlsplit(self.smtp_url)
        security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}.get(parts.scheme)
        if security is None or not parts.hostname:
            raise ValueError("FOIAWATCH_SMTP_URL must look like smtp://host:port, smtp+starttls://... or smtps://...")
        default_port = {"plain": 25, "starttls": 587, "tls": 465}[security]
        return SmtpServer(parts.hostname, parts.port or default_port, security,
                          unquote(parts.username) if parts.username else None,
                          unquote(parts.password) if parts.password else None)


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"must be at least 1 (got {number})")
    return number
