"""The study page: status, progress, first results, annotator link, exports, members."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotate.attention import check_summary
from studies.access import can_manage_members, get_study_for_user
from studies.export import EXPORT_FORMATS

from ..pages import annotator_links, lifecycle_actions, optional_template
from ..progress_display import progress_summary

PROMPTS_SHOWN = 12


@require_GET
@login_required
def study_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The study page; 404 unless the researcher owns the study or is a member."""
    study = get_study_for_user(request.user, slug)
    context = {
        "study": study,
        "criteria": study.criteria.all(),
        "systems": study.systems.all(),
        "prompts": study.prompts.all()[:PROMPTS_SHOWN],
        "prompt_count": study.prompts.count(),
        "progress": progress_summary(study.progress),
        "links": annotator_links(request, study),
        "actions": lifecycle_actions(study),
        "export_formats": list(EXPORT_FORMATS),
        "members": study.members.order_by("username"),
        "can_manage_members": can_manage_members(request.user, study),
        "checks": check_summary(study),
        "panel_template": optional_template("results/_panel.html"),
    }
    return render(request, "dashboard/study_detail.html", context)
