"""Responses that send a file from MEDIA_ROOT to a client a view has already let through.

Rules:
- No Python loop over the bytes. With ``settings.QSCHED_X_ACCEL_REDIRECT`` set (a prefix such as
  ``/protected-media/``), the response has no body and carries ``X-Accel-Redirect: <prefix><path under
  MEDIA_ROOT>``; nginx then sends the file itself from an ``internal`` location (README, "Deployment"),
  which no client can request directly. Without it, a ``FileResponse`` over the open file: Django hands it
  to the WSGI server's ``wsgi.file_wrapper`` (gunicorn: ``sendfile``).
- The view's checks always run first; this module only chooses how the bytes travel.
- Headers are the same either way: ``Content-Type`` from the caller, ``Cache-Control`` from the caller
  (``private``: these files are per researcher or per signed link), ``Content-Disposition`` only for
  downloads; ``Content-Length`` from the file (nginx sets its own after a redirect).
- A file outside MEDIA_ROOT is never redirected (the proxy maps only that folder): it is sent directly.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

__all__ = ["send_file"]


def _path_under_media_root(path: Path) -> str | None:
    try:
        return path.resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()
    except ValueError:
        return None


def send_file(path: Path | str, *, content_type: str, cache_control: str,
              download_name: str | None = None) -> HttpResponse:
    """Send the file at ``path`` (an attachment named ``download_name`` if given, else inline)."""
    path = Path(path)
    prefix = settings.QSCHED_X_ACCEL_REDIRECT
    relative = _path_under_media_root(path) if prefix else None
    if relative is not None:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix + quote(relative)
        if download_name:
            response["Content-Disposition"] = content_disposition_header(True, download_name)
    else:
        response = FileResponse(open(path, "rb"), content_type=content_type,  # noqa: SIM115 (closed by Django)
                                as_attachment=bool(download_name), filename=download_name or "")
        if not download_name:
            response.headers.pop("Content-Disposition", None)  # no file name reaches the client
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    return response
