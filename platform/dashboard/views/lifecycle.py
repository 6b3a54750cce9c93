"""Lifecycle buttons: launch, pause, resume, close."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from studies.access import get_study_for_user
from studies.services import StudyStateError, set_status

from ..forms import StatusForm


@require_POST
@login_required
def study_status(request: HttpRequest, slug: str) -> HttpResponse:
    """Move the study to the POSTed status (launch, pause, resume, close) and go back to its page."""
    study = get_study_for_user(request.user, slug)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Unknown status {request.POST.get('status', '')!r}.")
        return redirect("dashboard:study_detail", slug=study.slug)
    try:
        study = set_status(study=study, status=form.cleaned_data["status"], by=request.user)
    except StudyStateError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Study {study.slug} is now {study.get_status_display().lower()}.")
    return redirect("dashboard:study_detail", slug=study.slug)
