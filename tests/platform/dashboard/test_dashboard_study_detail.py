"""The study page: annotator links, progress and first results, lifecycle buttons, partials."""
import pytest
from django.urls import reverse

from studies.services import create_study_from_bundle


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(owner, bundle_dir):
    return create_study_from_bundle(bundle_dir=bundle_dir, slug="s1", owner=owner,
                                    criteria=["overall", "alignment"], votes_per_pair=2)


PROGRESS = {
    "target": 36, "collected": 9,
    "by_criterion": [{"criterion": "overall", "question": "Which image do you prefer overall?", "collected": 7, "target": 18},
                     {"criterion": "alignment", "question": "Which image matches the text better?", "collected": 2, "target": 18}],
    "annotators_total": 4, "annotators_active": 3,
    "pair_table": [{"criterion": "overall", "a": "w4a8-qsched", "b": "w4a8", "a_wins": 5, "b_wins": 1, "ties": 1},
                   {"criterion": "alignment", "a": "w4a8-qsched", "b": "w4a8", "a_wins": 0, "b_wins": 0, "ties": 0}],
    "computed_at": "2026-01-02T03:04:05+00:00",
}


def page(client, user, study) -> str:
    client.force_login(user)
    response = client.get(reverse("dashboard:study_detail", args=[study.slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_annotator_link_and_the_prolific_form(client, owner, study):
    content = page(client, owner, study)
    assert 'value="http://testserver/a/s1/"' in content
    assert "http://testserver/a/s1/?PROLIFIC_PID={{%PROLIFIC_PID%}}&amp;STUDY_ID={{%STUDY_ID%}}&amp;SESSION_ID={{%SESSION_ID%}}" in content


def test_behind_a_tls_proxy_the_annotator_links_are_https(client, owner, study, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # what QSCHED_HTTPS=1 sets
    settings.ALLOWED_HOSTS = ["study.example.org"]
    client.force_login(owner)
    # as nginx passes it on: plain HTTP from the proxy, with the client's Host and the TLS it ended
    content = client.get(reverse("dashboard:study_detail", args=[study.slug]), HTTP_HOST="study.example.org",
                         HTTP_X_FORWARDED_PROTO="https").content.decode()
    assert 'value="https://study.example.org/a/s1/"' in content
    assert "https://study.example.org/a/s1/?PROLIFIC_PID=" in content and "http://" not in content


def test_with_ssl_redirect_behind_the_proxy_plain_http_is_sent_to_https_and_https_is_served(
        client, owner, study, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["study.example.org"]
    client.force_login(owner)
    url = reverse("dashboard:study_detail", args=[study.slug])
    plain = client.get(url, HTTP_HOST="study.example.org", HTTP_X_FORWARDED_PROTO="http")
    assert plain.status_code == 301 and plain["Location"] == f"https://study.example.org{url}"
    assert client.get(url, HTTP_HOST="study.example.org", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_without_the_proxy_setting_a_forwarded_proto_header_is_ignored(client, owner, study):
    client.force_login(owner)
    content = client.get(reverse("dashboard:study_detail", args=[study.slug]),
                         HTTP_X_FORWARDED_PROTO="https").content.decode()
    assert 'value="http://testserver/a/s1/"' in content


def test_before_the_first_refresh_it_says_progress_is_not_counted_yet(client, owner, study):
    assert "Not counted yet" in page(client, owner, study)


def test_it_shows_progress_and_the_result_table_from_the_stored_progress(client, owner, study):
    study.progress = PROGRESS
    study.save(update_fields=["progress"])
    content = page(client, owner, study)
    assert "9</span><span class=\"lbl\">of 36 votes" in content
    assert "25.0%" in content  # 9 / 36
    assert 'aria-valuenow="9"' in content
    assert "3</span><span class=\"lbl\">annotators active" in content
    assert "7 of 18 votes" in content and "2 of 18 votes" in content
    # overall row: 5 wins, 1 loss, 1 tie -> (5 + 0.5) / 7 = 78.6 %
    assert '<td class="num">5</td><td class="num">1</td><td class="num">1</td>' in content
    assert "78.6%" in content
    assert "no votes" in content  # the alignment row has none yet


@pytest.mark.parametrize("status, labels", [("draft", ["Launch", "Close"]), ("live", ["Pause", "Close"]),
                                            ("paused", ["Resume", "Close"]), ("closed", [])])
def test_it_offers_the_lifecycle_buttons_of_the_current_status(client, owner, study, status, labels):
    study.status = status
    study.save(update_fields=["status"])
    content = page(client, owner, study)
    offered = [label for label in ("Launch", "Pause", "Resume", "Close") if f">{label}</button>" in content]
    assert offered == labels


def test_it_links_the_three_export_formats(client, owner, study):
    content = page(client, owner, study)
    for fmt in ("csv", "jsonl", "parquet"):
        assert f"/studies/s1/export?format={fmt}" in content


def test_only_the_owner_gets_the_member_form(client, owner, collaborator, study):
    study.members.add(collaborator)
    assert 'name="username"' in page(client, owner, study)
    assert 'name="username"' not in page(client, collaborator, study)


def test_the_results_panel_is_included_when_present(client, owner, study, settings, tmp_path):
    (tmp_path / "tpl" / "results").mkdir(parents=True)
    (tmp_path / "tpl" / "results" / "_panel.html").write_text('<div id="panel-marker">{{ study.slug }}</div>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path / "tpl", *settings.TEMPLATES[0]["DIRS"]]}]
    assert '<div id="panel-marker">s1</div>' in page(client, owner, study)
