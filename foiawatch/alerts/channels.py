"""The two ways a message leaves: SMTP and a webhook POST. Both say precisely how they failed, because that decides
whether a message is retried, given up, or must not be sent again.

Webhooks: the host is resolved and every address vetted (``safety.resolve_webhook``), and the connection goes to that
address, not to whatever the name resolves to a moment later (DNS rebinding). Redirects are never followed: one
could point anywhere, including the cloud metadata service.

Email: the SMTP dialogue is driven step by step so the caller can record, just before DATA, that the message may
be about to reach the server (``before_data``); see ``outbox`` for what a crash at that point means.
"""

from __future__ import annotations

import base64
import http.client
import smtplib
import socket
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from urllib.parse import unquote, urlsplit

from .. import __version__
from .safety import mask_url, resolve_webhook
from .settings import SmtpServer

RESPONSE_LIMIT = 64 * 1024


class DeliveryError(Exception):
    """A channel did not take a message. ``permanent`` errors are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool) -> int:
    """POST ``body`` and return the 2xx status; raises DeliveryError otherwise, RefusedTarget (before anything is
    sent) when the host resolves to a refused address."""
    address = resolve_webhook(url, allow_private)[0]
    parts = urlsplit(url)
    assert parts.hostname, "resolve_webhook refuses a URL without a host"
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, parts.port, address, timeout)
    request_headers = {"Content-Type": "application/json", "User-Agent": f"foiawatch/{__version__}", **headers}
    if parts.username:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        request_headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                           body=body, headers=request_headers)
        response = connection.getresponse()
        response.read(RESPONSE_LIMIT)
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"webhook {mask_url(url)}: {type(error).__name__}: {error}") from None
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return response.status
    retry = response.status in (408, 425, 429) or response.status >= 500
    why = "redirect not followed" if 300 <= response.status < 400 else response.reason
    raise DeliveryError(f"webhook {mask_url(url)} answered HTTP {response.status} ({why})", permanent=not retry)


def send_email(server: SmtpServer, message: EmailMessage, *, timeout: float,
               before_data: Callable[[], None]) -> None:
    """Hand one message to the SMTP server; raises DeliveryError (permanent for a 5xx refusal of the recipient or
    the message)."""
    sender, recipient = message["From"], message["To"]
    smtp: smtplib.SMTP
    try:
        if server.security == "tls":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"SMTP server {server.host}:{server.port}: {type(error).__name__}: {error}") from None
    try:
        if server.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if server.username:
            smtp.login(server.username, server.password or "")
        smtp.ehlo_or_helo_if_needed()
        for command, arguments, accepted in ((smtp.mail, sender, (250,)), (smtp.rcpt, recipient, (250, 251))):
            code, reply = command(arguments)
            if code not in accepted:
                raise smtplib.SMTPResponseException(code, reply)
        before_data()
        code, reply = smtp.data(message.as_bytes(policy=SMTP))  # raises only if DATA itself is refused
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
    except smtplib.SMTPResponseException as error:
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        permanent = 500 <= error.smtp_code < 600 and not isinstance(error, smtplib.SMTPAuthenticationError)
        raise DeliveryError(f"SMTP server refused: {error.smtp_code} {text}", permanent=permanent) from None
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"SMTP server {server.host}:{server.port}: {type(error).__name__}: {error}") from None
    finally:
        try:
            smtp.quit()  # after an accepted DATA, a failing QUIT changes nothing
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _pinned(address: str) -> Callable[..., socket.socket]:
    """A stand-in for ``socket.create_connection`` that connects to ``address`` whatever host it is given."""

    # The timeout default is socket.create_connection's own, a private sentinel that typeshed does not declare.
    def create_connection(host_port, timeout=socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
                          source_address=None):
        return socket.create_connection((address, host_port[1]), timeout, source_address)

    return create_connection


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Sends Host for the URL's name and connects to the vetted address (through http.client's connection hook)."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._create_connection = _pinned(address)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS verified against the URL's name (SNI and certificate), not the address."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._create_connection = _pinned(address)
