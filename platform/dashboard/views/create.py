"""Create a study from a bundle zip uploaded in the browser."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from results.forms import StudyQuestionForm
from results.questions import QuestionError, set_study_question
from studies.bundle import BundleError
from studies.services import StudyError, create_study_from_zip

from ..forms import STANDARD_CRITERIA, StudyCreateForm
from ..pages import optional_template


@require_http_methods(["GET", "POST"])
@login_required
def study_create(request: HttpRequest) -> HttpResponse:
    """Show the create form; on POST import the uploaded zip (all or nothing) and go to the study page."""
    form = StudyCreateForm(request.POST, request.FILES) if request.method == "POST" else StudyCreateForm()
    question_form = StudyQuestionForm(request.POST if form.is_bound else None, prefix="question")
    if form.is_bound and form.is_valid():  # the question's ids must be in the uploaded bundle
        question_form.check_against_bundle(form.cleaned_data["bundle"], [c["key"] for c in form.cleaned_data["criteria"]])
    if form.is_bound and form.is_valid() and question_form.is_valid():
        try:
            study = create_study_from_zip(upload=form.cleaned_data["bundle"], owner=request.user,
                                          **form.study_options())
        except BundleError as error:
            form.add_error("bundle", str(error))
        except StudyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Study {study.slug} created ({study.get_status_display().lower()}).")
            if question_form.asks:
                try:
                    set_study_question(study=study, **question_form.question_options())
                except QuestionError as error:
                    messages.error(request, f"The study's question was not saved: {error}")
            return redirect("dashboard:study_detail", slug=study.slug)
    criteria_rows = [(form[f"use_{key}"], form[f"question_{key}"]) for key in STANDARD_CRITERIA]
    context = {"form": form, "question_form": question_form, "criteria_rows": criteria_rows,
               "power_template": optional_template("results/_power.html")}
    return render(request, "dashboard/study_create.html", context, status=400 if form.errors or question_form.errors else 200)
