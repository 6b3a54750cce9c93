"""Researcher pages of the results app: report downloads and refresh, the study's question,
the per-prompt drill-down and the images it shows. Every view checks access with
``get_study_for_user`` (owner, members, superusers; 404 for anyone else)."""
import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from qsched_platform.file_responses import send_file
from studies.access import get_study_for_user
from studies.models import Image

from .drilldown import drilldown_context
from .forms import StudyQuestionForm
from .models import StudyQuestion
from .questions import QuestionError, clear_study_question, set_study_question
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


@require_http_methods(["GET", "POST"])
@login_required
def question_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Set, change or remove the study's question (researchers of the study only)."""
    study = get_study_for_user(request.user, slug)
    current = StudyQuestion.objects.filter(study=study).first()
    initial = {} if current is None else {"kind": current.kind, "system_a": current.system_a,
                                          "system_b": current.system_b, "criterion": current.criterion,
                                          "margin": current.margin, "alpha": current.alpha,
                                          "planned_votes": current.planned_votes}
    form = StudyQuestionForm(request.POST if request.method == "POST" else None, initial=initial,
                             systems=list(study.systems.values_list("key", flat=True)),
                             criteria=list(study.criteria.values_list("key", flat=True)))
    if form.is_bound and form.is_valid():
        if not form.asks:
            clear_study_question(study=study)
            messages.success(request, "The study has no question now.")
            return redirect("dashboard:study_detail", slug=study.slug)
        try:
            set_study_question(study=study, **form.question_options())
        except QuestionError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, "Question saved; refresh the results to see its answer.")
            return redirect("dashboard:study_detail", slug=study.slug)
    return render(request, "results/question_edit.html", {"study": study, "form": form, "current": current},
                  status=400 if form.errors else 200)


@require_GET
@login_required
def prompt_drilldown(request: HttpRequest, slug: str) -> HttpResponse:
    """The prompts where one system wins and loses most against another, with both images side by side."""
    study = get_study_for_user(request.user, slug)
    context = drilldown_context(study, request.GET.get("criterion"), request.GET.get("a"), request.GET.get("b"))
    return render(request, "results/drilldown.html", {"study": study, **context})


@require_GET
@login_required
def researcher_image(request: HttpRequest, slug: str, image_id: int) -> HttpResponse:
    """One image of the study, for its researchers (annotators only ever get opaque links)."""
    study = get_study_for_user(request.user, slug)
    image = get_object_or_404(Image, study=study, pk=image_id)
    content_type = mimetypes.guess_type(image.file.name)[0] or "application/octet-stream"
    return send_file(image.file.path, content_type=content_type, cache_control="private, max-age=3600")
