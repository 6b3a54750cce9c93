"""A database that is momentarily unavailable answers 503 with Retry-After, never an HTML 500.

Rules:
- ``django.db.OperationalError`` and ``django.db.InterfaceError`` raised by a view (a locked SQLite
  file, a PostgreSQL serialization failure, deadlock or dropped connection) become a JSON 503 in the
  one error shape of the APIs (``{"detail", "code"}``, as ``annotate.errors``), with ``Retry-After``.
- Such an error has rolled its transaction back, so nothing was written: a client may resend the very
  same request (votes are idempotent by assignment), which is what the voting page does.
- Other exceptions are left to Django (a real bug stays a 500 and is logged as one).
"""
import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from .api_errors import error_response

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 1


def busy_response(detail: str, *, retry_after: int = RETRY_AFTER_S, code: str = "busy") -> JsonResponse:
    """A JSON 503 asking the client to send the same request again after ``retry_after`` seconds."""
    response = error_response(503, detail, code, retry_after=retry_after)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseBusyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
        return busy_response("the database is busy or unavailable for a moment; send the same request again")
