"""Checks on what subscribers hand us: addresses that cannot smuggle headers, webhook URLs that cannot point the
server at itself or its network (SSRF), and masked forms for logs and listings."""

from __future__ import annotations

import ipaddress
import re
import socket
from email.errors import HeaderParseError
from email.headerregistry import Address
from urllib.parse import urlsplit

ALLOW_PRIVATE_HINT = "set FOIAWATCH_ALLOW_PRIVATE_WEBHOOKS=1 to allow private addresses"


class RefusedTarget(ValueError):
    """An address or URL foiawatch will not send to; the message says why (and never shows it in full)."""


def _has_control(text: str) -> bool:
    return any(ord(c) < 33 or ord(c) == 127 for c in text)


def check_email(address: str) -> str:
    """The address, if it is one plain mailbox (``user@domain``): no display name, list, comment or line break."""
    address = address.strip()
    if not address or _has_control(address) or any(c in address for c in ',;<>()"\\'):
        raise RefusedTarget(f"{mask_address(address)!r} is not a plain email address (user@domain)")
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, HeaderParseError, IndexError):
        raise RefusedTarget(f"{mask_address(address)!r} is not a plain email address (user@domain)") from None
    if not parsed.username or not parsed.domain or parsed.addr_spec != address:
        raise RefusedTarget(f"{mask_address(address)!r} is not a plain email address (user@domain)")
    return address


def check_webhook_url(url: str) -> str:
    """The URL, if it is an absolute http(s) URL with a host and nothing that could break a request line."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        valid = (not _has_control(url) and parts.scheme in ("http", "https") and bool(parts.hostname)
                 and parts.port != 0)
    except ValueError:  # among others, a port that is not a number in range
        valid = False
    if not valid:
        raise RefusedTarget(f"{mask_url(url)!r} is not an http(s) URL")
    return url


def resolve_webhook(url: str, allow_private: bool) -> list[str]:
    """The addresses a webhook URL's host resolves to, refusing loopback, private, link-local and other non-public
    ones unless allowed. Any bad address refuses the URL: DNS answers may be mixed to slip one through."""
    parts = urlsplit(check_webhook_url(url))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OSError(f"cannot resolve the host of {mask_url(url)}: {error.strerror}") from None
    addresses = list(dict.fromkeys(_host(info[4]) for info in infos))
    if not allow_private:
        for address in addresses:
            reason = non_public_reason(address)
            if reason:
                raise RefusedTarget(f"webhook {mask_url(url)} refused: {address} is a {reason} address "
                                    f"({ALLOW_PRIVATE_HINT})")
    return addresses


def _host(sockaddr: tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes]) -> str:
    """The IP address of one of getaddrinfo's answers: always a string for the AF_INET/AF_INET6 answers asked for
    here (typeshed also allows the (int, bytes) a Python built without IPv6 support gives for an IPv6 one)."""
    host = sockaddr[0]
    assert isinstance(host, str), sockaddr
    return host


_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def non_public_reason(address: str) -> str | None:
    """Why an IP address is not on the public internet ("loopback", "link-local", ...), or None if it is.

    An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4, Teredo, NAT64) is judged by that IPv4 address
    too: ``2002:a9fe:a9fe::`` reaches 169.254.169.254 through a 6to4 relay, ``64:ff9b::a00:1`` reaches 10.0.0.1
    through the network's NAT64 translator."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        else:
            for form, embedded in _embedded_ipv4(ip):
                reason = non_public_reason(str(embedded))
                if reason:
                    return f"{form} address of {embedded}, a {reason}"
            if ip in _NAT64_LOCAL:
                return "local-use NAT64"
    for reason, test in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                         ("private", ip.is_private), ("multicast", ip.is_multicast),
                         ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved)):
        if test:
            return reason
    return None if ip.is_global else "non-public"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 address an IPv6 address stands for, with the name of the form: 6to4 (2002::/16, bits 16-47),
    Teredo (2001::/32, the client's address in the last 32 bits XOR 0xffffffff), NAT64 (RFC 6052: the last 32 bits
    under the well-known 64:ff9b::/96, and under a /96 translator prefix in the local-use 64:ff9b:1::/48, all of
    which ``non_public_reason`` refuses whatever it embeds: RFC 8215 keeps it off the public internet)."""
    found = []
    if ip.sixtofour:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo:
        found.append(("Teredo", ip.teredo[1]))
    if ip in _NAT64_WELL_KNOWN or ip in _NAT64_LOCAL and int(ip) & 0xFFFFFFFF:  # zeros: another prefix length
        found.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


def mask_address(address: str) -> str:
    """``j***@example.org``: enough for an operator to tell subscribers apart, not enough to harvest."""
    user, at, domain = address.partition("@")
    return (user[:1] + "***" + at + domain) if at else "***"


def mask_url(url: str) -> str:
    """Scheme and host only: webhook paths and queries often are the secret (Slack, Teams, Discord)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
    except ValueError:
        return "***"
    return f"{parts.scheme}://{host}/***"


def mask_target(channel: str, target: str) -> str:
    return mask_address(target) if channel == "email" else mask_url(target)


def mask_in(text: str, target: str, masked: str) -> str:
    """``text`` (a server's reply, an error) with every occurrence of ``target`` replaced by its masked form, in
    any case: mail servers echo a recipient as they please ("550 <WATCHER@EXAMPLE.ORG>: unknown")."""
    return re.sub(re.escape(target), lambda _match: masked, text, flags=re.IGNORECASE) if target else text
