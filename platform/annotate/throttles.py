"""Abuse limits on the annotator API: DRF throttles per client IP, per crowd id and per session.

Rules
-----
- Limits are on unless ``settings.QSCHED_RATE_LIMITS`` is false (``QSCHED_RATE_LIMITS=off``:
  load tests, a lab's own closed study). Rates come from ``settings.QSCHED_RATES``
  (``QSCHED_RATE_SESSIONS_PER_IP`` etc., e.g. ``30/hour``).
- Joining (``POST /api/studies/<slug>/sessions``) is limited per client IP and per crowd id
  (``external_id``, e.g. PROLIFIC_PID); every annotator call (join, next, vote, finish) per
  client IP and per session (bearer token). Images are not throttled: an annotator can fetch
  only the images of their at most two open tasks.
- The client IP is the connection's address (``REMOTE_ADDR``). Only when that address is a
  trusted proxy (``settings.QSCHED_TRUSTED_PROXIES``: addresses or networks, empty by
  default) is ``X-Forwarded-For`` read, and then the right-most address in it that is not
  itself a trusted proxy is the client: everything left of it was written by the client and
  can be forged.
- Counters live in Django's cache (DRF's ``SimpleRateThrottle``): set ``CACHES`` to a shared
  cache such as Redis when several processes serve, or each process counts on its own.
- A refusal is ``429 {"detail", "code": "throttled"}`` with ``Retry-After`` (seconds).
"""
from __future__ import annotations

import functools
import hashlib
import ipaddress

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .tokens import bearer_token

__all__ = ["CALL_THROTTLES", "SESSION_THROTTLES", "client_ip"]


def client_ip(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind a trusted proxy the right-most untrusted
    address of ``X-Forwarded-For``."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = _networks(tuple(settings.QSCHED_TRUSTED_PROXIES))
    if not proxies or not _in(remote, proxies):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for address in reversed([part for part in forwarded if part]):
        if not _in(address, proxies):
            return address if _ip(address) is not None else remote
    return remote


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _ip(address: str):
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _in(address: str, networks: tuple) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in networks)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


class _Limit(SimpleRateThrottle):
    cache_format = "qsched-throttle:%(scope)s:%(ident)s"

    def get_rate(self):
        return settings.QSCHED_RATES[self.scope]

    def allow_request(self, request, view):
        if not settings.QSCHED_RATE_LIMITS:
            return True
        return super().allow_request(request, view)

    def get_ident(self, request):
        return client_ip(request)

    def key(self, request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request, view):
        ident = self.key(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}


class SessionsPerIP(_Limit):
    scope = "session_ip"

    def key(self, request):
        return self.get_ident(request)


class SessionsPerCrowdId(_Limit):
    scope = "session_crowd_id"

    def key(self, request):
        data = request.data
        external_id = data.get("external_id") if isinstance(data, dict) else None
        if not isinstance(external_id, str) or not external_id.strip():
            return None  # anonymous joins are limited per IP only
        slug = request.parser_context["kwargs"].get("slug", "")
        return _digest(f"{slug}\n{external_id.strip()}")


class CallsPerIP(_Limit):
    scope = "call_ip"

    def key(self, request):
        return self.get_ident(request)


class CallsPerSession(_Limit):
    scope = "call_session"

    def key(self, request):
        token = bearer_token(request.headers.get("Authorization", ""))
        return _digest(token) if token else None


SESSION_THROTTLES = [CallsPerIP, SessionsPerIP, SessionsPerCrowdId]
CALL_THROTTLES = [CallsPerIP, CallsPerSession]
