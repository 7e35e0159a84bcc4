import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The real client address: nginx's X-Real-IP, trusted only from TRUSTED_PROXY_IPS."""
    peer = request.META.get("REMOTE_ADDR", "")
    if _is_trusted_proxy(peer):
        forwarded = request.META.get("HTTP_X_REAL_IP", "").strip()
        if forwarded:
            return forwarded
    return peer


def _is_trusted_proxy(peer: str) -> bool:
    if not settings.TRUSTED_PROXY_IPS:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    # A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d.
    address = getattr(address, "ipv4_mapped", None) or address
    return any(address in network for network in settings.TRUSTED_PROXY_IPS)
