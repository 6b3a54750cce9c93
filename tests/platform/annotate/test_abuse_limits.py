"""Findings 5 and 10: abuse limits per client IP, crowd id and session; crowd id required; shared crowd ids."""
import pytest
from django.test import RequestFactory

from annotate.attention import check_summary
from annotate.models import Annotator
from annotate.throttles import client_ip

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    """Turn the limits on with small rates; returns the rates dict to edit."""
    settings.QSCHED_RATE_LIMITS = True
    settings.QSCHED_RATES = {"session_ip": "1000/hour", "session_crowd_id": "1000/hour",
                             "call_ip": "1000/min", "call_session": "1000/min"}
    return settings.QSCHED_RATES


def _join(client, ip="203.0.113.1", **body):
    return client.post("/api/studies/demo/sessions", body, content_type="application/json", REMOTE_ADDR=ip)


def _assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and response.json()["detail"]
    assert int(response["Retry-After"]) > 0


def test_the_limits_are_on_by_default_and_off_with_qsched_rate_limits_off(load_settings):  # noqa: F811
    assert load_settings().QSCHED_RATE_LIMITS is True
    assert load_settings(QSCHED_RATE_LIMITS="off").QSCHED_RATE_LIMITS is False
    assert load_settings(QSCHED_RATE_SESSIONS_PER_IP="5/min").QSCHED_RATES["session_ip"] == "5/min"


def test_a_bad_rate_fails_at_start_up(load_settings):  # noqa: F811
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="QSCHED_RATE_CALLS_PER_IP"):
        load_settings(QSCHED_RATE_CALLS_PER_IP="lots")


def test_joins_from_one_ip_are_limited_and_refused_with_a_json_429(make_live_study, client, limits):
    make_live_study()
    limits["session_ip"] = "3/hour"
    assert [_join(client).status_code for _ in range(3)] == [201] * 3
    _assert_throttled(_join(client))
    assert _join(client, ip="198.51.100.7").status_code == 201  # another address is not affected
    assert Annotator.objects.count() == 4


def test_joins_with_one_crowd_id_are_limited_across_addresses(make_live_study, client, limits):
    make_live_study()
    limits["session_crowd_id"] = "2/hour"
    assert _join(client, ip="203.0.113.1", external_id="P1").status_code == 201
    assert _join(client, ip="203.0.113.2", external_id="P1").status_code == 201
    _assert_throttled(_join(client, ip="203.0.113.3", external_id="P1"))
    assert _join(client, ip="203.0.113.3", external_id="P2").status_code == 201


def test_calls_of_one_session_are_limited(make_live_study, client, limits):
    make_live_study()
    limits["call_session"] = "4/min"
    token = _join(client).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": "203.0.113.1"}
    assert [client.get("/api/session/next", **auth).status_code for _ in range(4)] == [200] * 4
    _assert_throttled(client.get("/api/session/next", **auth))
    _assert_throttled(client.post("/api/assignments/x/vote", {"choice": "left", "response_ms": 1},
                                  content_type="application/json", **auth))


def test_calls_from_one_ip_are_limited(make_live_study, client, limits):
    make_live_study()
    limits["call_ip"] = "3/min"
    token = _join(client).json()["token"]  # the join is a call too
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": "203.0.113.1"}
    assert [client.get("/api/session/next", **auth).status_code for _ in range(2)] == [200] * 2
    _assert_throttled(client.get("/api/session/finish", **auth))


def test_with_the_limits_off_nothing_is_refused(make_live_study, client, limits, settings):
    make_live_study()
    limits["session_ip"] = "1/hour"
    settings.QSCHED_RATE_LIMITS = False
    assert [_join(client).status_code for _ in range(5)] == [201] * 5


# -- the client's address --

def _request(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_x_forwarded_for_is_ignored_unless_the_connection_comes_from_a_trusted_proxy(settings):
    settings.QSCHED_TRUSTED_PROXIES = []
    assert client_ip(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"
    settings.QSCHED_TRUSTED_PROXIES = ["10.0.0.1"]
    assert client_ip(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client(settings):
    settings.QSCHED_TRUSTED_PROXIES = ["10.0.0.1", "172.16.0.0/12"]
    # The client forged "6.6.6.6"; the proxy appended the real peer 198.51.100.4.
    assert client_ip(_request("10.0.0.1", "6.6.6.6, 198.51.100.4")) == "198.51.100.4"
    # Two proxies in a row: the inner one (172.16.5.5) is skipped too.
    assert client_ip(_request("10.0.0.1", "6.6.6.6, 198.51.100.4, 172.16.5.5")) == "198.51.100.4"
    assert client_ip(_request("10.0.0.1", "")) == "10.0.0.1"
    assert client_ip(_request("10.0.0.1", "not-an-ip")) == "10.0.0.1"


def test_forged_forwarded_addresses_do_not_escape_the_per_ip_limit(make_live_study, client, limits, settings):
    make_live_study()
    settings.QSCHED_TRUSTED_PROXIES = ["127.0.0.1"]
    limits["session_ip"] = "2/hour"
    statuses = [client.post("/api/studies/demo/sessions", {}, content_type="application/json",
                            REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"9.9.9.{i}, 198.51.100.4").status_code
                for i in range(3)]
    assert statuses == [201, 201, 429]


# -- crowd ids --

def test_a_study_that_requires_a_crowd_id_refuses_anonymous_joins(make_live_study, client):
    make_live_study(require_crowd_id=True)
    response = _join(client)
    assert response.status_code == 403 and response.json()["code"] == "crowd_id_required"
    assert not Annotator.objects.exists()
    assert _join(client, external_id="PROLIFIC1").status_code == 201


def test_a_second_browser_with_the_same_crowd_id_is_flagged_and_shares_the_open_tasks(make_live_study, client):
    study = make_live_study()
    first = {"HTTP_AUTHORIZATION": f"Bearer {_join(client, external_id='P1').json()['token']}"}
    task = client.get("/api/session/next", **first).json()
    second = {"HTTP_AUTHORIZATION": f"Bearer {_join(client, ip='198.51.100.9', external_id='P1').json()['token']}"}
    assert client.get("/api/session/next", **second).json()["assignment"] == task["assignment"]
    annotator = Annotator.objects.get()
    assert annotator.extra_sessions == 1
    assert check_summary(study)["annotators_with_extra_sessions"] == 1


def test_a_crowd_id_joining_once_is_not_flagged(make_live_study, client):
    make_live_study()
    assert _join(client, external_id="P1").status_code == 201
    assert _join(client).status_code == 201 and _join(client).status_code == 201  # anonymous: separate people
    assert list(Annotator.objects.values_list("extra_sessions", flat=True)) == [0, 0, 0]
