"""Vote downloads: CSV, JSON Lines, Parquet (contract section 2), the export code's own response."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.http import require_GET

from studies.access import get_study_for_user
from studies.errors import StudyError
from studies.export import votes_response


@require_GET
@login_required
def study_export(request: HttpRequest, slug: str) -> HttpResponse:
    """Download the votes as ``?format=csv|jsonl|parquet``: streamed CSV / JSON Lines, a spooled Parquet file."""
    study = get_study_for_user(request.user, slug)
    try:
        return votes_response(study, request.GET.get("format", "csv"))
    except StudyError as exc:  # an unknown format, in the export code's own words
        return HttpResponseBadRequest(str(exc))
