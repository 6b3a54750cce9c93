"""One error shape for every JSON API: ``{"detail": "<message>", "code": "<code>"}``.

Rules
-----
- Views never build an error body: they raise, and :func:`exception_handler` answers.
- DRF's own refusals (parse errors, 401/403/404/405, throttling 429 with ``Retry-After``)
  keep their status and gain a ``code`` (``parse_error``, ``throttled``, ...); field-level
  validation errors keep DRF's ``{field: [messages]}`` shape.
- A bad query parameter or body value is :class:`BadRequest` (400, ``invalid`` unless another
  code is given, e.g. ``required``).
- The apps' own refusals are answered by class (:func:`app_refusal`): an ``AnnotateError``
  with its ``status``, ``code`` and extra fields (``annotate.errors``); a ``StudyError`` 400
  with its ``code`` (``studies.errors``); a ``QuestionError`` 400 ``invalid_question`` and a
  ``BundleError`` 400 ``invalid_bundle``, each naming the field (and entry) at fault.
- A JSON body nested too deeply for the parser is a 400 ``parse_error``, not a 500.
- A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` sent to ``/api/`` is a JSON 413 ``too_large``
  (:class:`BodyLimitMiddleware`), before any view reads it.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import exceptions, parsers
from rest_framework.response import Response

__all__ = ["BadRequest", "BodyLimitMiddleware", "JSONParser", "app_refusal", "error_response", "exception_handler"]


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


class BadRequest(exceptions.APIException):
    """A request parameter or body value that is wrong: ``raise BadRequest("why", code="required")``."""

    status_code = 400
    default_detail = "the request is invalid"
    default_code = "invalid"


def app_refusal(exc: Exception) -> tuple[int, dict, int | None] | None:
    """``(status, body, retry_after)`` for one of the apps' own refusals, or None for anything else.

    Imported here, not at the top: Django reads this module (settings, middleware) before the apps.
    """
    from annotate.errors import AnnotateError
    from formats.bundle import BundleError
    from results.questions import QuestionError
    from studies.errors import StudyError

    if isinstance(exc, AnnotateError):
        return exc.status, {"detail": str(exc), "code": exc.code, **exc.extra}, exc.retry_after
    if isinstance(exc, StudyError):
        return 400, {"detail": str(exc), "code": exc.code}, None
    if isinstance(exc, QuestionError):
        return 400, {"detail": str(exc), "code": "invalid_question", "field": exc.field}, None
    if isinstance(exc, BundleError):
        return 400, {"detail": str(exc), "code": "invalid_bundle", "entry": exc.entry, "field": exc.field}, None
    return None


def exception_handler(exc, context):
    """The apps' own refusals (:func:`app_refusal`); else DRF's handler, with ``code`` added beside ``detail``."""
    from rest_framework import views as drf_views  # it imports this module's parser

    refusal = app_refusal(exc)
    if refusal is not None:
        status, body, retry_after = refusal
        return Response(body, status=status,
                        headers={"Retry-After": str(retry_after)} if retry_after is not None else None)
    if isinstance(exc, RequestDataTooBig):
        exc = _TooLarge()
    response = drf_views.exception_handler(exc, context)
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
