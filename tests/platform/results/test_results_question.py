"""The study's question: stored in the results app, answered at each report build, shown on the study page."""
import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from results.models import StudyQuestion
from results.questions import QuestionError, analysis_question, set_study_question
from results.services import refresh_report

from tests.platform.annotate_study import make_study

pytestmark = pytest.mark.django_db


def _votes(study, add_vote, a_wins_per_comparison=3, b_wins_per_comparison=0, annotators=6):
    """Each comparison of the pair (w4a8-qsched, fp16) voted by every annotator; A wins the first votes."""
    for comparison in study.comparisons.all():
        systems = {comparison.image_a.system.key, comparison.image_b.system.key}
        if systems != {"w4a8-qsched", "fp16"}:
            continue
        a_is_left = comparison.image_a.system.key == "w4a8-qsched"
        for j in range(annotators):
            a_wins = j < a_wins_per_comparison or j >= a_wins_per_comparison + b_wins_per_comparison
            choice = "left" if a_wins == a_is_left else "right"
            add_vote(comparison, "overall", f"ann-{j}", choice)


def _render_panel(study, user):
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("results/_panel.html", {"study": study}, request=request)


def test_a_question_must_name_two_systems_of_the_study_and_nothing_is_written_on_a_refusal(owner):
    study = make_study(owner, slug="q0")
    for kwargs, field in [({"system_a": "nope"}, "system_a"), ({"system_b": "w4a8-qsched"}, "system_b"),
                          ({"criterion": "beauty"}, "criterion"), ({"margin": 0.6}, "margin"),
                          ({"alpha": 0.0}, "alpha"), ({"kind": "bigger"}, "kind")]:
        options = {"kind": "non-inferiority", "system_a": "w4a8-qsched", "system_b": "fp16", **kwargs}
        with pytest.raises(QuestionError) as error:
            set_study_question(study=study, **options)
        assert error.value.field == field
    assert not StudyQuestion.objects.exists()


def test_the_planned_votes_default_to_what_the_study_design_gives_the_pair(owner):
    study = make_study(owner, slug="q1", n_prompts=4, seeds=(0, 1), k=3)
    set_study_question(study=study, kind="non-inferiority", system_a="w4a8-qsched", system_b="fp16")
    question = analysis_question(study)
    assert question["planned_votes"] == 4 * 2 * 3 and question["criterion"] == "overall"
    set_study_question(study=study, kind="non-inferiority", system_a="w4a8-qsched", system_b="fp16",
                       planned_votes=500)
    assert analysis_question(study)["planned_votes"] == 500


def test_each_report_build_is_a_look_and_the_panel_answers_in_one_line(owner, add_vote):
    study = make_study(owner, slug="q2", n_prompts=8, k=6)
    set_study_question(study=study, kind="superiority", system_a="w4a8-qsched", system_b="fp16",
                       planned_votes=48)
    _votes(study, add_vote, a_wins_per_comparison=6)  # A wins every vote: 48 of 48
    refresh_report(study=study, n_bootstrap=20, plots=False)
    question = StudyQuestion.objects.get(study=study)
    assert question.answer["answer"] == "yes" and len(question.looks) == 1
    html = _render_panel(study, owner)
    assert "Yes: w4a8-qsched is better than fp16" in html
    assert "Answered: you may close the study" in html
    assert reverse("results:question_edit", args=["q2"]) in html
    refresh_report(study=study, n_bootstrap=20, plots=False)  # no new votes: not a new look
    assert len(StudyQuestion.objects.get(study=study).looks) == 1


def test_an_early_look_says_not_yet_with_the_votes_still_needed(owner, add_vote):
    study = make_study(owner, slug="q3", n_prompts=8, k=6)
    set_study_question(study=study, kind="non-inferiority", system_a="w4a8-qsched", system_b="fp16",
                       planned_votes=4000)
    _votes(study, add_vote, a_wins_per_comparison=3, b_wins_per_comparison=3)
    refresh_report(study=study, n_bootstrap=20, plots=False)
    answer = StudyQuestion.objects.get(study=study).answer
    assert answer["answer"] == "not yet" and answer["more_votes_needed"] > 0
    html = _render_panel(study, owner)
    assert "Not yet: about" in html and "Answered" not in html


def test_changing_the_question_after_looking_resets_the_looks_and_is_said(owner, add_vote):
    study = make_study(owner, slug="q4", n_prompts=4, k=6)
    set_study_question(study=study, kind="superiority", system_a="w4a8-qsched", system_b="fp16")
    _votes(study, add_vote)
    refresh_report(study=study, n_bootstrap=0, plots=False)
    set_study_question(study=study, kind="non-inferiority", system_a="w4a8-qsched", system_b="fp16")
    question = StudyQuestion.objects.get(study=study)
    assert question.looks == [] and question.edited_after_looks == 1
    refresh_report(study=study, n_bootstrap=0, plots=False)
    assert "changed after 1 look" in StudyQuestion.objects.get(study=study).answer["note"]


def test_the_question_page_is_for_the_study_researchers_only(client, owner, collaborator, outsider):
    study = make_study(owner, slug="q5")
    url = reverse("results:question_edit", args=["q5"])
    assert client.get(url).status_code == 302  # anonymous (an annotator): to the login page
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"kind": "superiority", "system_a": "fp16", "system_b": "w4a8"}).status_code == 404
    assert not StudyQuestion.objects.exists()
    study.members.add(collaborator)
    client.force_login(collaborator)
    page = client.get(url)
    assert page.status_code == 200 and b'name="system_a"' in page.content
    response = client.post(url, {"kind": "non-inferiority", "system_a": "w4a8-qsched", "system_b": "fp16",
                                 "margin": "0.05", "alpha": "0.05"})
    assert response.status_code == 302
    assert StudyQuestion.objects.get(study=study).system_a == "w4a8-qsched"


def test_a_bad_question_on_the_page_is_refused_and_changes_nothing(client, owner):
    study = make_study(owner, slug="q6")
    set_study_question(study=study, kind="superiority", system_a="w4a8-qsched", system_b="fp16")
    client.force_login(owner)
    url = reverse("results:question_edit", args=["q6"])
    response = client.post(url, {"kind": "non-inferiority", "system_a": "fp16", "system_b": "fp16", "margin": "0.05"})
    assert response.status_code == 400 and b"two different systems" in response.content
    assert StudyQuestion.objects.get(study=study).kind == "superiority"
    assert client.post(url, {"kind": ""}).status_code == 302  # no question: removed
    assert not StudyQuestion.objects.filter(study=study).exists()


def test_the_power_endpoint_plans_with_a_study_s_estimated_design_effect(client, owner, outsider, add_vote):
    study = make_study(owner, slug="q7", n_prompts=8, k=6)
    _votes(study, add_vote, a_wins_per_comparison=4, b_wins_per_comparison=2)  # each annotator always alike
    report = refresh_report(study=study, n_bootstrap=0, plots=False)
    client.force_login(owner)
    data = client.get(reverse("results_api:power"), {"win_rate": "0.5", "test": "non-inferiority",
                                                     "margin": "0.05", "study": "q7"}).json()
    assert report.headline["overall"]["design_effect"] > 2
    assert data["design_effect"] == pytest.approx(report.headline["overall"]["design_effect"])
    assert "estimated from the votes of study q7" in data["design_effect_source"]
    client.force_login(outsider)
    assert client.get(reverse("results_api:power"), {"win_rate": "0.55", "study": "q7"}).status_code == 404
