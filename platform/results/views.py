"""Report downloads and refresh for researchers (pages under /studies/<slug>/report/...)."""
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST
from qsched_platform.file_responses import send_file
from studies.access import get_study_for_user

from .services import report_file
from .tasks import request_report_refresh

CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "png": "image/png",
                 "svg": "image/svg+xml"}


def file_response(study, name: str) -> HttpResponse:
    """The report file ``name`` of ``study`` (inline for images, as a download otherwise)."""
    path = report_file(study, name)
    if path is None:
        raise Http404(f"no report file {name!r} for this study (refresh the report first?)")
    ext = path.suffix[1:]
    response = send_file(path, content_type=CONTENT_TYPES[ext], cache_control="private, no-cache",
                         download_name=f"{study.slug}-{name}" if ext in ("json", "csv") else None)
    if ext == "svg":
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@require_GET
@login_required
def report_download(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    study = get_study_for_user(request.user, slug)
    return file_response(study, name)


@require_POST
@login_required
def report_refresh(request: HttpRequest, slug: str) -> HttpResponse:
    study = get_study_for_user(request.user, slug)
    request_report_refresh(study)
    return redirect("dashboard:study_detail", slug=study.slug)
