"""The study list: studies the researcher owns or was added to."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from studies.access import is_owner, studies_for_user

from ..progress_display import progress_summary


@require_GET
@login_required
def study_list(request: HttpRequest) -> HttpResponse:
    """The studies the researcher owns or is a member of, newest first."""
    studies = studies_for_user(request.user).select_related("owner")
    rows = [{"study": study, "progress": progress_summary(study.progress),
             "is_owner": is_owner(request.user, study)} for study in studies]
    return render(request, "dashboard/study_list.html", {"rows": rows})
