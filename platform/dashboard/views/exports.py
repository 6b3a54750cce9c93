"""Vote downloads: CSV, JSON Lines, Parquet (contract section 2) via studies.export."""
import tempfile

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.http import require_GET

from studies.access import get_study_for_user
from studies.export import EXPORT_FORMATS, write_votes


@require_GET
@login_required
def study_export(request: HttpRequest, slug: str) -> HttpResponse:
    """Download the votes as ``?format=csv|jsonl|parquet`` (contract section 2 columns)."""
    study = get_study_for_user(request.user, slug)
    fmt = request.GET.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest(f"Unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    content_type, extension = _format_details(fmt)
    out = tempfile.TemporaryFile()  # spooled to disk: exports of big studies stay out of memory
    write_votes(study, fmt, out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"{study.slug}-votes{extension}",
                        content_type=content_type)


def _format_details(fmt: str) -> tuple[str, str]:
    return EXPORT_FORMATS[fmt]["content_type"], EXPORT_FORMATS[fmt]["extension"]
