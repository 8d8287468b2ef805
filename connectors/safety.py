"""Where a connector may send a request: the configured instance, and nothing else.

An ITSM base URL comes from an admin-edited file, and the responses it sends back (redirects,
`Link` headers, `self` links) are not ours either. Every URL a connector is about to call passes
through `Destination.check_url`, so a typo, a hostile redirect or a link to another host cannot
make the service carry its credentials somewhere else or probe the private network it runs in.

Rules, in order:
- scheme, host and port must equal the configured base URL's;
- `https` is required, except plain `http` to a loopback host when `allow_loopback_http` is set
  (the simulators);
- the host's addresses (resolved, re-checked every `RESOLVE_TTL_S`) must be public, unless the
  connection is `on_premises` (any private address) or the host is loopback and
  `allow_loopback_http` is set; cloud metadata addresses are refused in every case.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Callable, Iterable
from urllib.parse import urlsplit

from connectors.errors import UnsafeDestination

# Instance metadata services (AWS, GCP, Azure, OpenStack; AWS IPv6): never a ticketing tool.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(text) for text in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254"))
RESOLVE_TTL_S = 60.0
DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

Resolver = Callable[[str, int], Iterable[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), as text."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, lower-case host, port) of `url`, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:  # a port that is not a number
        port = -1
    return scheme, host, port


def _is_loopback_name(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _address_kind(text: str) -> str | None:
    """None for a public address; else what makes it non-public ("loopback", "private", ...)."""
    address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private or address.is_reserved or address.is_multicast or address.is_unspecified:
        return "private"
    return None


class Destination:
    """The one origin a connection may call, and the check every outgoing URL goes through.

    Thread-safe; the DNS answer is cached for `RESOLVE_TTL_S` so a host that later resolves to a
    private address (DNS rebinding) is caught within that time.
    """

    def __init__(self, connection_id: str, base_url: str, *, allow_loopback_http: bool = False,
                 on_premises: bool = False, resolver: Resolver = resolve_host,
                 clock: Callable[[], float] = time.monotonic):
        self.connection_id = connection_id
        self.base_url = base_url.rstrip("/")
        self.origin = origin_of(base_url)
        self.allow_loopback_http = allow_loopback_http
        self.on_premises = on_premises
        self._resolver = resolver
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_until = float("-inf")
        self._check_static()

    def _refuse(self, why: str) -> UnsafeDestination:
        return UnsafeDestination(f"connection {self.connection_id}: {why}", connection_id=self.connection_id)

    def _check_static(self) -> None:
        scheme, host, port = self.origin
        if scheme not in DEFAULT_PORTS or not host or port <= 0:
            raise self._refuse(f"base_url {self.base_url!r} is not an http(s) address with a host")
        if scheme == "http" and not (self.allow_loopback_http and _is_loopback_name(host)):
            raise self._refuse(f"base_url {self.base_url!r} uses plain http; https is required "
                               "(plain http is allowed only to a loopback host with allow_loopback_http)")

    def check_url(self, url: str) -> None:
        """Raise `UnsafeDestination` unless `url` is on the configured origin and that origin is safe."""
        if origin_of(url) != self.origin:
            scheme, host, port = origin_of(url)
            raise self._refuse(f"refused a request to {scheme}://{host}:{port}, which is not the configured "
                               f"instance {self.base_url}")
        self.check_addresses()

    def check_addresses(self) -> None:
        """Resolve the host (at most every `RESOLVE_TTL_S`) and refuse non-public addresses.

        Raises `UnsafeDestination`; a name that does not resolve is left to the HTTP call, which
        reports it as `HostUnreachable`.
        """
        now = self._clock()
        with self._lock:
            if now < self._checked_until:
                return
        _, host, port = self.origin
        try:
            addresses = list(self._resolver(host, port))
        except (OSError, UnicodeError):
            return  # unresolvable: the call itself fails as HostUnreachable, which is retryable
        loopback_allowed = self.allow_loopback_http and _is_loopback_name(host)
        for address in addresses:
            kind = _address_kind(address)
            if kind is None:
                continue
            if kind == "metadata":
                raise self._refuse(f"host {host} resolves to the cloud metadata address {address}; refused")
            if kind == "loopback" and loopback_allowed:
                continue
            if self.on_premises and kind in ("private", "link-local", "loopback"):
                continue
            raise self._refuse(f"host {host} resolves to the {kind} address {address}; set on_premises = true "
                               "for an instance on a private network")
        with self._lock:
            self._checked_until = now + RESOLVE_TTL_S
