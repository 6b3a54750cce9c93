"""One error shape for every JSON API: ``{"detail": "<message>", "code": "<code>"}``.

Rules
-----
- DRF's own refusals (parse errors, 401/403/404/405, throttling 429 with ``Retry-After``)
  keep their status and gain a ``code`` (``parse_error``, ``throttled``, ...); field-level
  validation errors keep DRF's ``{field: [messages]}`` shape.
- A JSON body nested too deeply for the parser is a 400 ``parse_error``, not a 500.
- A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` sent to ``/api/`` is a JSON 413 ``too_large``
  (:class:`BodyLimitMiddleware`), before any view reads it.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import exceptions, parsers

__all__ = ["BodyLimitMiddleware", "JSONParser", "error_response", "exception_handler"]


def error_response(status: int, detail: str, code: str, *, retry_after: int | None = None) -> JsonResponse:
    """The one error shape, for answers given outside DRF (middleware)."""
    response = JsonResponse({"detail": detail, "code": code}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with too-deep nesting (Python's RecursionError) refused as a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply") from None
        except RequestDataTooBig:
            raise _TooLarge() from None


class _TooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "the request body is too large"
    default_code = "too_large"


def exception_handler(exc, context):
    """DRF's handler, then ``code`` added beside ``detail``."""
    from rest_framework.views import exception_handler as drf_exception_handler  # imports this module's parser

    if isinstance(exc, RequestDataTooBig):
        exc = _TooLarge()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and set(response.data) == {"detail"}:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        response.data["code"] = codes if isinstance(codes, str) else "error"
    return response


class BodyLimitMiddleware:
    """Answer a JSON 413 to an ``/api/`` request whose declared body is over the limit.

    Django itself would refuse such a body only once a view reads it, as an HTML 400.
    Multipart uploads are left to Django (their files do not count toward the limit).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path.startswith("/api/") and not request.content_type.startswith(
                "multipart/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return error_response(413, f"the request body is {length} bytes; the limit is {limit}",
                                      _TooLarge.default_code)
        return self.get_response(request)
