"""Report downloads from the study page and the API: researchers with access only."""
import pytest
from django.urls import reverse
from results.services import refresh_report

from tests.platform.annotate_study import make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(owner, collaborator, add_vote):
    study = make_study(owner, slug="dl", n_prompts=2)
    study.members.add(collaborator)
    for i, comparison in enumerate(study.comparisons.all()):
        add_vote(comparison, "overall", "ann-a", "left" if i % 3 else "right")
        add_vote(comparison, "overall", "ann-b", "left" if i % 2 else "tie", swap=True)
    refresh_report(study=study, n_bootstrap=20, plots=False)
    return study


def test_the_owner_and_a_member_download_the_summary_page_and_api(client, study, owner, collaborator):
    for user in (owner, collaborator):
        client.force_login(user)
        for url in (reverse("results:report_file", args=["dl", "summary.json"]),
                    reverse("results_api:report_file", args=["dl", "summary.json"])):
            response = client.get(url)
            assert response.status_code == 200, url
            assert b"qsched-analysis/1" in b"".join(response.streaming_content)
            assert "attachment" in response["Content-Disposition"]


def test_csv_and_plot_downloads(client, study, owner):
    refresh_report(study=study, n_bootstrap=20, plots=True)
    client.force_login(owner)
    csv = client.get(reverse("results:report_file", args=["dl", "win_rates.csv"]))
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert b"".join(csv.streaming_content).startswith(b"criterion,a,b,wins")
    png = client.get(reverse("results:report_file", args=["dl", "bt_overall.png"]))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert client.get(reverse("results:report_file", args=["dl", "agreement.csv"])).status_code == 200


def test_an_outsider_gets_404_and_an_anonymous_user_is_sent_to_log_in(client, study, outsider):
    url = reverse("results:report_file", args=["dl", "summary.json"])
    assert client.get(url).status_code == 302
    assert client.get(reverse("results_api:report_file", args=["dl", "summary.json"])).status_code in (401, 403)
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("results_api:report_file", args=["dl", "summary.json"])).status_code == 404
    assert client.get(reverse("results_api:report_status", args=["dl"])).status_code == 404


def test_unknown_or_unsafe_names_are_404(client, study, owner):
    client.force_login(owner)
    for name in ("nope.csv", "..%2Fsecret.json", "summary.json.tmp"):
        assert client.get(f"/studies/dl/report/{name}").status_code == 404, name


def test_the_api_lists_the_files_with_the_refresh_time(client, study, owner):
    client.force_login(owner)
    data = client.get(reverse("results_api:report_status", args=["dl"])).json()
    assert data["status"] == "ok" and data["refreshed_at"]
    names = {f["name"] for f in data["files"]}
    assert {"summary.json", "win_rates.csv", "agreement.csv", "bradley_terry.csv"} <= names
    assert all(f["url"].endswith(f"/api/studies/dl/report/{f['name']}") for f in data["files"])


def test_a_refresh_request_is_queued_after_commit(client, study, owner, django_capture_on_commit_callbacks,
                                                  monkeypatch):
    queued = []
    monkeypatch.setattr("results.tasks.refresh_report.delay", lambda study_id: queued.append(study_id))
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("results_api:report_refresh", args=["dl"]))
    assert response.status_code == 202 and response.json()["requested_at"]
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("results:report_refresh", args=["dl"]))
    assert page.status_code == 302
    assert queued == [study.pk, study.pk]
