"""The per-prompt drill-down page (researchers only, images side by side) and the question on the create page."""
import pytest
from django.urls import reverse
from results.models import StudyQuestion
from results.questions import set_study_question
from results.services import refresh_report
from studies.models import Image, Study

from tests.platform.annotate_study import make_study
from tests.platform.dashboard.test_dashboard_study_create import form_data, media_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def voted(owner, add_vote):
    """A wins on p0000 and p0001, loses on p0002, ties on p0003 (against fp16)."""
    study = make_study(owner, slug="dd", n_prompts=4, k=4)
    plan = {"p0000": "a", "p0001": "a", "p0002": "b", "p0003": "tie"}
    for comparison in study.comparisons.select_related("image_a__system", "image_b__system", "prompt"):
        keys = (comparison.image_a.system.key, comparison.image_b.system.key)
        if set(keys) != {"w4a8-qsched", "fp16"}:
            continue
        want = plan[comparison.prompt.key]
        a_left = keys[0] == "w4a8-qsched"
        choice = "tie" if want == "tie" else ("left" if (want == "a") == a_left else "right")
        for j in range(3):
            add_vote(comparison, "overall", f"ann-{j}", choice)
    set_study_question(study=study, kind="non-inferiority", system_a="w4a8-qsched", system_b="fp16")
    refresh_report(study=study, n_bootstrap=0, plots=False)
    return study


def test_the_drilldown_shows_the_prompts_won_and_lost_most_with_both_images(client, owner, voted):
    client.force_login(owner)
    page = client.get(reverse("results:prompt_drilldown", args=["dd"]))
    assert page.status_code == 200
    html = page.content.decode()
    wins, losses = html.split('id="losses"')
    assert "p0000" in wins and "p0001" in wins and "p0002" not in wins
    assert "p0002" in losses and "p0003" not in html.split('id="wins"')[1]
    image_a = Image.objects.get(study=voted, system__key="w4a8-qsched", prompt__key="p0002")
    image_b = Image.objects.get(study=voted, system__key="fp16", prompt__key="p0002")
    assert reverse("results:researcher_image", args=["dd", image_a.pk]) in losses
    assert reverse("results:researcher_image", args=["dd", image_b.pk]) in losses
    assert losses.index(str(image_a.pk)) < losses.index(f"/{image_b.pk}")  # A on the left, B on the right
    other = client.get(reverse("results:prompt_drilldown", args=["dd"]), {"a": "fp16", "b": "w4a8-qsched"})
    assert "p0002" in other.content.decode().split('id="losses"')[0]  # the same pair, seen from fp16


def test_the_drilldown_and_its_images_are_refused_to_anyone_but_the_researchers(client, outsider, voted):
    image = Image.objects.filter(study=voted).first()
    page = reverse("results:prompt_drilldown", args=["dd"])
    picture = reverse("results:researcher_image", args=["dd", image.pk])
    anonymous = client.get(picture)  # an annotator has no login: never an image by its id
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(outsider)
    assert client.get(page).status_code == 404 and client.get(picture).status_code == 404


def test_researchers_get_the_image_file(client, owner, voted):
    image = Image.objects.filter(study=voted).first()
    client.force_login(owner)
    response = client.get(reverse("results:researcher_image", args=["dd", image.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG")
    other = make_study(owner, slug="other")
    stranger = Image.objects.filter(study=other).first()
    assert client.get(reverse("results:researcher_image", args=["dd", stranger.pk])).status_code == 404


def test_the_drilldown_without_a_report_says_so(client, owner):
    make_study(owner, slug="empty")
    client.force_login(owner)
    assert b"No report yet" in client.get(reverse("results:prompt_drilldown", args=["empty"])).content


def test_the_create_page_stores_the_question_with_the_study(client, owner, bundle_dir):
    client.force_login(owner)
    page = client.get(reverse("dashboard:study_create")).content.decode()
    assert 'name="question-kind"' in page and 'name="question-system_a"' in page
    data = form_data(bundle_dir, **{"question-kind": "non-inferiority", "question-system_a": "w4a8-qsched",
                                    "question-system_b": "fp16", "question-margin": "0.05",
                                    "question-alpha": "0.05"})
    response = client.post(reverse("dashboard:study_create"), data)
    assert response.status_code == 302
    question = StudyQuestion.objects.get(study__slug="new-study")
    assert (question.kind, question.system_a, question.system_b, question.margin) == \
        ("non-inferiority", "w4a8-qsched", "fp16", 0.05)


def test_a_question_about_a_system_not_in_the_bundle_creates_nothing(client, owner, bundle_dir, settings):
    client.force_login(owner)
    data = form_data(bundle_dir, **{"question-kind": "superiority", "question-system_a": "int4",
                                    "question-system_b": "fp16"})
    response = client.post(reverse("dashboard:study_create"), data)
    assert response.status_code == 400
    assert "&#x27;int4&#x27; is not a system of the bundle" in response.content.decode()
    assert not Study.objects.exists() and not StudyQuestion.objects.exists() and media_files(settings) == []


def test_no_question_on_the_create_page_is_fine(client, owner, bundle_dir):
    client.force_login(owner)
    assert client.post(reverse("dashboard:study_create"), form_data(bundle_dir)).status_code == 302
    assert Study.objects.filter(slug="new-study").exists() and not StudyQuestion.objects.exists()
