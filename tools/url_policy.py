"""Which pages a tool may fetch: http(s) URLs whose host resolves to public addresses only,
redirects included. A page that a search engine links to could otherwise point the agent at
this machine or its network (loopback, private ranges, link-local, a cloud's metadata
service). The `fetch_private` setting lifts the address check, for a trusted network.

The check resolves the host before the request; a name whose records change between that
and the connection (DNS rebinding) is outside what it can see.
"""

import ipaddress
import socket

import httpx

from tools.base import ToolError


class UrlRefused(ToolError):
    """A URL that the policy does not let a tool fetch."""


def check_url(url: str | httpx.URL, *, allow_private: bool = False) -> None:
    """Refuse anything but http(s), and (unless `allow_private`) any host with an address
    that is not globally reachable."""
    parsed = httpx.URL(str(url))
    if parsed.scheme not in ("http", "https"):
        raise UrlRefused(f"{url}: only http and https pages are fetched")
    if allow_private:
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise UrlRefused(f"{url}: the host {parsed.host!r} does not resolve") from e
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])  # an IPv6 zone is not an address
        if not ip.is_global:
            raise UrlRefused(f"{url}: {parsed.host} is at {ip}, not a public address")


def guarded_client(*, allow_private: bool = False, **options: object) -> httpx.Client:
    """An httpx client that checks every request it sends, each redirect among them."""

    def check(request: httpx.Request) -> None:
        check_url(request.url, allow_private=allow_private)

    return httpx.Client(event_hooks={"request": [check]}, **options)  # type: ignore[arg-type]
