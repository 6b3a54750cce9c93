"""The voting page /a/<slug>/."""
import json
import re

import pytest

pytestmark = pytest.mark.django_db


def _config(response):
    match = re.search(r'<script id="vote-config" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(match.group(1))


def test_it_shows_consent_and_instructions_escaped(make_live_study, client):
    make_live_study(consent_text="I agree <script>alert(1)</script>", instructions="Pick <b>one</b>")
    response = client.get("/a/demo/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "I agree &lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "Pick &lt;b&gt;one&lt;/b&gt;" in html
    assert "annotate/vote.js" in html and "annotate/vote.css" in html


def test_it_passes_the_prolific_parameters_to_the_script(make_live_study, client):
    make_live_study()
    response = client.get("/a/demo/?PROLIFIC_PID=pp1&STUDY_ID=ss2&SESSION_ID=%3C%2Fscript%3E")
    config = _config(response)
    assert config["crowd"] == {"external_id": "pp1", "study_id": "ss2", "session_id": "</script>"}
    assert config["urls"]["sessions"] == "/api/studies/demo/sessions"
    assert config["live"] is True and config["allowTies"] is True


def test_it_locks_the_page_down_with_a_content_security_policy(make_live_study, client):
    make_live_study()
    policy = client.get("/a/demo/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_the_tie_button_is_absent_when_ties_are_off(make_live_study, client):
    make_live_study(allow_ties=False)
    response = client.get("/a/demo/")
    assert 'data-choice="tie"' not in response.content.decode()
    assert _config(response)["allowTies"] is False


def test_a_study_that_is_not_live_says_so_to_the_script(make_live_study, client):
    make_live_study(status="paused")
    assert _config(client.get("/a/demo/"))["live"] is False


def test_an_unknown_study_is_404(db, client):
    assert client.get("/a/nope/").status_code == 404


def test_the_script_never_writes_html_from_data():
    from pathlib import Path

    import annotate

    script = (Path(annotate.__file__).parent / "static" / "annotate" / "vote.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "textContent = task.data.prompt" in script
