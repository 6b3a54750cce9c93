"""manage.py import_bundle: a server-side bundle directory becomes a study, or nothing does."""
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from studies.models import Study

from tests.platform.bundles import edit_manifest, write_bundle

pytestmark = pytest.mark.django_db


def test_it_imports_a_bundle_with_the_given_options(tmp_path, owner, capsys):
    root = write_bundle(tmp_path / "b", n_prompts=2)
    (tmp_path / "consent.txt").write_text("I agree to take part.")
    call_command("import_bundle", str(root), "--study", "cmd", "--owner", "owner", "--votes-per-pair", "4",
                 "--criteria", "overall,alignment", "--quota", "30", "--consent", f"@{tmp_path / 'consent.txt'}",
                 "--launch", verbosity=0)
    study = Study.objects.get(slug="cmd")
    assert (study.owner, study.votes_per_pair, study.quota_per_annotator, study.status) == (owner, 4, 30, "live")
    assert list(study.criteria.values_list("key", flat=True)) == ["overall", "alignment"]
    assert study.consent_text == "I agree to take part."
    assert study.work_items.count() == 3 * 2 * 2
    assert "imported study 'cmd' (live)" in capsys.readouterr().out


def test_the_only_superuser_owns_the_study_by_default(tmp_path, db):
    admin = get_user_model().objects.create_superuser("root", password="root-pass-123")
    call_command("import_bundle", str(write_bundle(tmp_path / "b")), "--study", "cmd", verbosity=0)
    assert Study.objects.get(slug="cmd").owner == admin


def test_it_asks_for_an_owner_when_there_is_no_single_superuser(tmp_path, owner):
    with pytest.raises(CommandError, match="--owner"):
        call_command("import_bundle", str(write_bundle(tmp_path / "b")), "--study", "cmd", verbosity=0)


def test_a_broken_bundle_is_refused_with_entry_and_field_and_nothing_is_imported(tmp_path, owner, settings):
    root = write_bundle(tmp_path / "b")
    edit_manifest(root, lambda m: m["images"][2].update(prompt="p0404"))
    with pytest.raises(CommandError, match=r"nothing imported: images\[2\]\.prompt: unknown prompt id 'p0404'"):
        call_command("import_bundle", str(root), "--study", "cmd", "--owner", "owner", verbosity=0)
    assert not Study.objects.exists()
    assert not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))


def test_a_bad_option_is_refused(tmp_path, owner):
    with pytest.raises(CommandError, match="votes_per_pair"):
        call_command("import_bundle", str(write_bundle(tmp_path / "b")), "--study", "cmd", "--owner", "owner",
                     "--votes-per-pair", "0", verbosity=0)


def test_a_dry_run_prints_ok_and_writes_nothing(tmp_path, settings, capsys):
    root = write_bundle(tmp_path / "b", n_prompts=2)
    call_command("import_bundle", str(root), "--study", "cmd", "--dry-run")
    assert capsys.readouterr().out == "ok: 3 systems, 2 prompts, 6 images, 6 comparisons\n"
    assert not Study.objects.exists()
    assert not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))


def test_a_dry_run_names_entry_and_field_of_a_broken_bundle_and_exits_2(tmp_path, settings):
    root = write_bundle(tmp_path / "b")
    edit_manifest(root, lambda m: m.update(comparisons=[{"a": "fp16", "b": "w4a8"}, {"a": "w4a8", "b": "fp16"}]))
    with pytest.raises(CommandError, match=r"^comparisons\[1\]\.b: duplicate pair 'w4a8' / 'fp16'") as info:
        call_command("import_bundle", str(root), "--study", "cmd", "--dry-run")
    assert info.value.returncode == 2
    assert not Study.objects.exists()
    assert not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))
