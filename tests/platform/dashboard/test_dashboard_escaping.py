"""User-supplied text (prompts, names, instructions, questions) is escaped on every researcher page."""
import pytest
from django.urls import reverse

from studies.services import create_study_from_bundle

from tests.platform.bundles import edit_manifest, write_bundle

ATTACK = '<script>alert("pwned")</script>'


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(owner, tmp_path):
    bundle = write_bundle(tmp_path / "b", systems=("fp16", "w4a8"), n_prompts=1)

    def poison(manifest):
        manifest["prompts"][0]["text"] = f"a cat {ATTACK}"
        manifest["systems"][0]["label"] = ATTACK

    edit_manifest(bundle, poison)
    study = create_study_from_bundle(bundle_dir=bundle, slug="s1", owner=owner, name=f"Study {ATTACK}",
                                     criteria=[{"key": "overall", "question": f"Which? {ATTACK}"}],
                                     instructions=ATTACK, consent_text=ATTACK, completion_code="<b>x</b>")
    study.progress = {"target": 3, "collected": 0, "annotators_total": 0, "annotators_active": 0,
                      "by_criterion": [{"criterion": "overall", "question": ATTACK, "collected": 0, "target": 3}],
                      "pair_table": [], "computed_at": "2026-01-01T00:00:00+00:00"}
    study.save(update_fields=["progress"])
    return study


@pytest.mark.parametrize("name", ["dashboard:study_list", "dashboard:study_detail"])
def test_no_script_from_user_data_reaches_the_page(client, owner, study, name):
    client.force_login(owner)
    args = [] if name == "dashboard:study_list" else [study.slug]
    content = client.get(reverse(name, args=args)).content.decode()
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in content
    assert ATTACK not in content
    assert "<b>x</b>" not in content


def test_the_progress_fragment_escapes_the_question_too(client, owner, study):
    client.force_login(owner)
    html = client.get(reverse("dashboard:study_progress_json", args=[study.slug])).json()["html"]
    assert "&lt;script&gt;" in html
    assert ATTACK not in html
