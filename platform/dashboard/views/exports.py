"""Vote downloads: CSV, JSON Lines, Parquet (contract section 2), the export code's own response."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.http import require_GET

from studies.access import get_study_for_user
from studies.export import EXPORT_FORMATS, votes_response


@require_GET
@login_required
def study_export(request: HttpRequest, slug: str) -> HttpResponse:
    """Download the votes as ``?format=csv|jsonl|parquet``: streamed CSV / JSON Lines, a spooled Parquet file."""
    study = get_study_for_user(request.user, slug)
    fmt = request.GET.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest(f"Unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    return votes_response(study, fmt)
