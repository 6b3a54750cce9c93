"""Members: the owner adds or removes collaborators by username."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from studies.access import get_study_for_user
from studies.services import add_member, remove_member

from ..forms import MemberForm


@require_POST
@login_required
def study_members(request: HttpRequest, slug: str) -> HttpResponse:
    """Add or remove a member (owner only; the service refuses others) and go back to the study page."""
    study = get_study_for_user(request.user, slug)
    form = MemberForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a username and choose add or remove.")
        return redirect("dashboard:study_detail", slug=study.slug)
    username, action = form.cleaned_data["username"], form.cleaned_data["action"]
    change = add_member if action == "add" else remove_member
    try:
        change(study=study, username=username, by=request.user)
    except (PermissionDenied, ValueError) as error:
        messages.error(request, str(error) or "Only the owner can change the members.")
    else:
        done = "added to" if action == "add" else "removed from"
        messages.success(request, f"{username} {done} {study.slug}.")
    return redirect("dashboard:study_detail", slug=study.slug)
