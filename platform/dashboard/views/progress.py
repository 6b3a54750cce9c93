"""The JSON endpoint the study page polls: current stored progress; queues a refresh."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from studies.access import get_study_for_user
from studies.tasks import request_progress_refresh

from ..progress_display import progress_summary


@require_GET
@never_cache
@login_required
def study_progress_json(request: HttpRequest, slug: str) -> JsonResponse:
    """Return what the last refresh stored; never computes progress in the request."""
    study = get_study_for_user(request.user, slug)
    request_progress_refresh(study)
    summary = progress_summary(study.progress)
    html = render_to_string("dashboard/_progress.html", {"study": study, "progress": summary}, request=request)
    return JsonResponse({
        "status": study.status,
        "progress": study.progress,
        "updated_at": study.progress_updated_at.isoformat() if study.progress_updated_at else None,
        "html": html,
    })
