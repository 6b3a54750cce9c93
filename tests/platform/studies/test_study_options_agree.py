"""The study options are declared once (the Study fields): the service, the create form, import_bundle
and the model's own validation (the admin) refuse the same values and start from the same defaults."""
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command, load_command_class

from dashboard.forms import StudyCreateForm
from studies.errors import StudyError
from studies.models import Study
from studies.options import OPTIONS
from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db

# (option, import_bundle flag, a value below its range, a value above it or None): written out here,
# from the README's and the contract's words, not read from the code under test.
OUT_OF_RANGE = [
    ("votes_per_pair", "--votes-per-pair", 0, 101),
    ("quota_per_annotator", "--quota", 0, None),
    ("assignment_timeout_s", "--timeout", 9, None),
    ("attention_check_rate", "--attention-check-rate", -0.1, 0.6),
    ("attention_min_votes_before_check", "--attention-min-votes", 0, 1001),
    ("exclude_after_failed_checks", "--exclude-after-failed-checks", -1, 1001),
    ("gold_pairs", "--gold-pairs", -1, 501),
]
BAD_VALUES = [(name, flag, value) for name, flag, low, high in OUT_OF_RANGE for value in (low, high)
              if value is not None] + [("redirect_url", "--redirect-url", "javascript:alert(1)"),
                                       ("completion_code", "--completion-code", "x" * 65)]


def test_every_numeric_option_is_in_the_table():
    numeric = {name for name, option in OPTIONS.items() if option.kind in (int, float)}
    assert numeric == {name for name, *_ in OUT_OF_RANGE}


@pytest.mark.parametrize("name, flag, value", BAD_VALUES)
def test_service_form_command_and_model_refuse_the_same_value_naming_the_field(tmp_path, owner, name, flag, value):
    bundle = write_bundle(tmp_path / "b")
    with pytest.raises(StudyError, match=f"^{name}: "):
        create_study_from_bundle(bundle_dir=bundle, slug="s1", owner=owner, **{name: value})

    form = StudyCreateForm(data={"slug": "s2", "use_overall": "on", "votes_per_pair": "3",
                                 "assignment_timeout_s": "600", name: str(value)})
    assert not form.is_valid() and name in form.errors

    with pytest.raises(CommandError, match=f"{name}: "):
        call_command("import_bundle", str(bundle), "--study", "s3", "--owner", owner.username, flag, str(value),
                     verbosity=0)

    study = Study(slug="s4", name="s4", owner=owner, **{name: value})
    with pytest.raises(ValidationError) as refused:
        study.full_clean()
    assert name in refused.value.message_dict
    assert not Study.objects.exists()


def test_values_at_the_ends_of_each_range_are_taken_everywhere(tmp_path, owner):
    edges = {"votes_per_pair": 100, "quota_per_annotator": 1, "assignment_timeout_s": 10,
             "attention_check_rate": 0.5, "attention_min_votes_before_check": 1000,
             "exclude_after_failed_checks": 0, "gold_pairs": 0}
    form = StudyCreateForm(data={"slug": "s2", "use_overall": "on", **{k: str(v) for k, v in edges.items()}})
    form.is_valid()
    assert not set(edges) & set(form.errors)
    Study(slug="s4", name="s4", owner=owner, **edges).full_clean()
    study = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b"), slug="s1", owner=owner, **edges)
    assert {name: getattr(study, name) for name in edges} == edges


def test_form_command_and_service_start_from_the_same_defaults(tmp_path, owner):
    parser = load_command_class("studies", "import_bundle").create_parser("manage.py", "import_bundle")
    form = StudyCreateForm()
    study = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b"), slug="s1", owner=owner, gold_pairs=0)
    for name in OPTIONS:
        field = Study._meta.get_field(name)
        expected = 24 if name == "gold_pairs" else (field.default if field.has_default() else None)
        assert parser.get_default(name) in (expected, "" if expected is None else expected), name
        assert form.fields[name].initial in (expected, "" if expected is None else expected), name
        if name not in ("gold_pairs", "name"):  # gold_pairs: asked 0 here; name: the bundle's
            assert getattr(study, name) in (expected, "" if expected is None else expected), name
    assert (study.votes_per_pair, study.assignment_timeout_s, study.attention_check_rate) == (3, 600, 0.1)


def test_the_screen_out_code_must_differ_from_the_completion_code_in_service_and_model(tmp_path, owner):
    codes = {"completion_code": "C0DE", "screen_out_code": "C0DE"}
    with pytest.raises(StudyError, match="^screen_out_code: must differ from the completion code"):
        create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b"), slug="s1", owner=owner, **codes)
    with pytest.raises(ValidationError) as refused:
        Study(slug="s4", name="s4", owner=owner, **codes).full_clean()
    assert "screen_out_code" in refused.value.message_dict


def test_an_option_that_is_not_a_study_field_is_refused(tmp_path, owner):
    with pytest.raises(TypeError, match="votes_per_item"):
        create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b"), slug="s1", owner=owner, votes_per_item=3)
