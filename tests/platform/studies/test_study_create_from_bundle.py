"""studies.services.create_study_from_bundle: all or nothing, database and media files alike."""
import hashlib

import pytest
from django.db import transaction

from studies import services
from studies.errors import StudyError
from studies.models import Comparison, Criterion, Image, Prompt, Study, System, WorkItem
from studies.services import DEFAULT_QUESTIONS, BundleError, create_study_from_bundle

from tests.platform.bundles import edit_manifest, write_bundle

pytestmark = pytest.mark.django_db


def media_files(settings) -> list[str]:
    return sorted(str(p.relative_to(settings.MEDIA_ROOT)) for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())


def row_counts() -> dict:
    return {m.__name__: m.objects.count() for m in (Study, Criterion, System, Prompt, Image, Comparison, WorkItem)}


def test_it_imports_systems_prompts_images_comparisons_and_work_items(tmp_path, owner):
    root = write_bundle(tmp_path / "b", n_prompts=2, seeds=(0, 1))
    study = create_study_from_bundle(bundle_dir=root, slug="s1", owner=owner, criteria=["overall", "quality"])
    assert study.status == Study.Status.DRAFT and study.launched_at is None
    assert study.name == "test-bundle" and study.bundle_name == "test-bundle"
    assert study.manifest["format"] == "qsched-bundle/1"
    assert list(study.systems.values_list("key", flat=True)) == ["fp16", "w4a8", "w4a8-qsched"]
    assert study.systems.get(key="fp16").metrics == {"jaq": 0.5, "fid": 20.0}
    assert study.prompts.get(key="p0001").text == "prompt number 1 <b>bold</b>"
    assert study.images.count() == 12
    assert study.comparisons.count() == 3 * 2 * 2  # pairs x prompts x seeds
    assert study.work_items.count() == 12 * 2  # x criteria
    assert [(c.key, c.question) for c in study.criteria.all()] == [
        ("overall", DEFAULT_QUESTIONS["overall"]), ("quality", DEFAULT_QUESTIONS["quality"])]


def test_it_stores_image_files_under_opaque_names(tmp_path, owner, settings):
    root = write_bundle(tmp_path / "b", n_prompts=1)
    study = create_study_from_bundle(bundle_dir=root, slug="s1", owner=owner)
    for image in study.images.select_related("system"):
        assert image.file.name == f"studies/s1/{image.public_id.hex}.png"
        assert image.system.key not in image.file.name
        stored = (settings.MEDIA_ROOT / image.file.name).read_bytes()
        assert stored == (root / image.bundle_path).read_bytes()
        assert image.sha256 == hashlib.sha256(stored).hexdigest()


def test_it_keeps_the_listed_order_of_each_pair(tmp_path, owner):
    root = write_bundle(tmp_path / "b", comparisons=[{"a": "w4a8-qsched", "b": "fp16"}])
    study = create_study_from_bundle(bundle_dir=root, slug="s1", owner=owner)
    pairs = {(c.image_a.system.key, c.image_b.system.key, c.image_a.seed == c.seed == c.image_b.seed)
             for c in study.comparisons.select_related("image_a__system", "image_b__system")}
    assert pairs == {("w4a8-qsched", "fp16", True)}
    assert study.comparisons.count() == 3


def test_it_takes_custom_questions_and_options(tmp_path, owner):
    study = create_study_from_bundle(
        bundle_dir=write_bundle(tmp_path / "b"), slug="s1", owner=owner, name="My study",
        criteria=[{"key": "overall", "question": "Which one?"}, {"key": "realism", "question": "More real?"}],
        votes_per_pair=5, allow_ties=False, quota_per_annotator=20, assignment_timeout_s=120,
        instructions="<i>look</i>", consent_text="ok?", completion_code="C0DE",
        redirect_url="https://app.prolific.com/submissions/complete?cc=C0DE", launch=True)
    assert (study.name, study.votes_per_pair, study.allow_ties, study.quota_per_annotator) == ("My study", 5, False, 20)
    assert study.status == Study.Status.LIVE and study.launched_at is not None
    assert list(study.criteria.values_list("key", "question")) == [("overall", "Which one?"), ("realism", "More real?")]


@pytest.mark.parametrize("options, words", [
    ({"slug": "bad slug"}, "slug"),
    ({"votes_per_pair": 0}, "votes_per_pair: must be between 1 and 100"),
    ({"votes_per_pair": 101}, "votes_per_pair"),
    ({"quota_per_annotator": 0}, "quota_per_annotator"),
    ({"assignment_timeout_s": 5}, "assignment_timeout_s: must be at least 10"),
    ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
    ({"criteria": ["realism"]}, "criteria[0].question"),
    ({"criteria": ["overall", "overall"]}, "criteria[1].key: duplicate"),
    ({"criteria": []}, "criteria"),
    ({"owner": None}, "owner"),
])
def test_it_refuses_bad_options_and_writes_nothing(tmp_path, owner, settings, options, words):
    kwargs = {"bundle_dir": write_bundle(tmp_path / "b"), "slug": "s1", "owner": owner, **options}
    with pytest.raises(StudyError, match=words.replace("[", r"\[").replace("]", r"\]")):
        create_study_from_bundle(**kwargs)
    assert Study.objects.count() == 0 and media_files(settings) == []


def test_it_refuses_a_taken_slug(tmp_path, owner):
    create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b"), slug="s1", owner=owner)
    with pytest.raises(StudyError, match="already exists"):
        create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "c"), slug="s1", owner=owner)


def test_a_refused_bundle_leaves_database_and_media_unchanged(tmp_path, owner, settings):
    create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "ok"), slug="first", owner=owner)
    before_rows, before_files = row_counts(), media_files(settings)
    root = write_bundle(tmp_path / "bad")
    edit_manifest(root, lambda m: m["images"][-1].update(sha256="0" * 64))
    with pytest.raises(BundleError) as info:
        create_study_from_bundle(bundle_dir=root, slug="second", owner=owner)
    assert (info.value.entry, info.value.field) == ("images[8]", "sha256")
    assert row_counts() == before_rows and media_files(settings) == before_files


def test_a_failure_after_files_were_copied_removes_them_and_every_row(tmp_path, owner, settings, monkeypatch):
    create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "ok"), slug="first", owner=owner)
    before_rows, before_files = row_counts(), media_files(settings)

    def broken_bulk_create(*args, **kwargs):
        raise RuntimeError("disk full while writing work items")

    monkeypatch.setattr(WorkItem.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(RuntimeError, match="disk full"):
        create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b"), slug="second", owner=owner)
    assert row_counts() == before_rows and media_files(settings) == before_files
    assert not (settings.MEDIA_ROOT / "studies" / "second").exists()


def test_it_works_inside_an_outer_transaction(tmp_path, owner):
    with transaction.atomic():
        study = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b"), slug="s1", owner=owner)
    assert Study.objects.get(pk=study.pk).images.count() == 9


def test_default_questions_cover_the_three_usual_criteria():
    assert set(services.DEFAULT_QUESTIONS) == {"overall", "alignment", "quality"}


def test_a_failure_while_copying_removes_the_files_already_copied(tmp_path, owner, settings, monkeypatch):
    from django.core.files.storage import default_storage

    real_save, calls = default_storage.save, []

    def failing_save(name, content, **kwargs):
        calls.append(name)
        if len(calls) == 5:
            raise OSError("no space left on device")
        return real_save(name, content, **kwargs)

    monkeypatch.setattr(default_storage, "save", failing_save)
    with pytest.raises(OSError, match="no space left"):
        create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b"), slug="s1", owner=owner)
    assert len(calls) == 5
    assert row_counts() == dict.fromkeys(row_counts(), 0) and media_files(settings) == []
