"""The results partials: the study page panel and the power calculator."""
import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from results.services import refresh_report

from analysis.power import votes_needed

from tests.platform.annotate_study import make_study

pytestmark = pytest.mark.django_db


def _render_panel(study, user):
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("results/_panel.html", {"study": study}, request=request)


def test_the_panel_says_when_there_is_no_report_yet(owner):
    study = make_study(owner, slug="p0")
    html = _render_panel(study, owner)
    assert "No report yet" in html and reverse("results:report_refresh", args=["p0"]) in html


def test_the_panel_shows_the_ranking_plot_downloads_and_refresh_time(owner, add_vote):
    study = make_study(owner, slug="p1", n_prompts=2)
    for comparison in study.comparisons.all():
        add_vote(comparison, "overall", "ann-a", "left")
        add_vote(comparison, "overall", "ann-b", "right", swap=True)
    report = refresh_report(study=study, n_bootstrap=20)
    html = _render_panel(study, owner)
    assert 'alt="Bradley-Terry scores' in html
    assert "Last refreshed" in html and report.refreshed_at.strftime("%Y-%m-%d") in html
    for row in report.headline["overall"]["bradley_terry"]:
        assert row["system"] in html
    assert reverse("results:report_file", args=["p1", "bt_overall.png"]) in html
    assert reverse("results:report_file", args=["p1", "summary.json"]) in html
    assert reverse("results:report_file", args=["p1", "agreement.csv"]) in html


def test_the_study_page_includes_the_panel(client, owner):
    make_study(owner, slug="p2")
    client.force_login(owner)
    response = client.get(reverse("dashboard:study_detail", args=["p2"]))
    assert response.status_code == 200
    assert b'id="results"' in response.content


def test_the_power_endpoint_matches_the_calculator(client, owner):
    client.force_login(owner)
    url = reverse("results_api:power")
    data = client.get(url, {"win_rate": "0.55", "tie_rate": "0.1"}).json()
    assert data["votes_needed_per_pair"] == votes_needed(0.55, tie_rate=0.1)
    data = client.get(url, {"win_rate": "0.5", "test": "non-inferiority", "margin": "0.05"}).json()
    assert data["votes_needed_per_pair"] == votes_needed(0.5, test="non-inferiority", margin=0.05)


@pytest.mark.parametrize("params,msg,code", [({}, "win_rate is required", "required"),
                                             ({"win_rate": "abc"}, "must be a number", "invalid"),
                                             ({"win_rate": "0.55", "test": "x"}, "test must be one of", "invalid"),
                                             ({"win_rate": "1.5"}, "between 0 and 1", "invalid")])
def test_the_power_endpoint_explains_bad_input(client, owner, params, msg, code):
    client.force_login(owner)
    response = client.get(reverse("results_api:power"), params)
    assert response.status_code == 400 and msg in response.json()["detail"]
    assert response.json()["code"] == code


def test_the_power_partial_renders_in_the_create_form(client, owner):
    client.force_login(owner)
    response = client.get(reverse("dashboard:study_create"))
    assert response.status_code == 200
    assert b'id="power-calculator"' in response.content
    assert reverse("results_api:power").encode() in response.content
