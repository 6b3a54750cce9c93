"""studies.services.create_study_from_zip: uploads in a zip, refused whole when unsafe or too large."""
import io
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studies.models import Study
from studies.services import BundleError, create_study_from_zip

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db


def zip_of(root, *, prefix="") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + str(path.relative_to(root)))
    return buffer.getvalue()


def with_member(data: bytes, info: zipfile.ZipInfo, content: bytes) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(info, content)
    return buffer.getvalue()


def media_files(settings) -> list:
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_it_imports_a_zip_with_the_manifest_at_its_root(tmp_path, owner):
    upload = SimpleUploadedFile("bundle.zip", zip_of(write_bundle(tmp_path / "b")), "application/zip")
    study = create_study_from_zip(upload=upload, slug="z1", owner=owner, votes_per_pair=2)
    assert (study.images.count(), study.comparisons.count(), study.votes_per_pair) == (9, 9, 2)


def test_it_imports_a_zip_with_one_top_folder_from_a_plain_file_object(tmp_path, owner):
    data = zip_of(write_bundle(tmp_path / "b"), prefix="my-bundle/")
    study = create_study_from_zip(upload=io.BytesIO(data), slug="z1", owner=owner)
    assert study.images.count() == 9


def test_it_ignores_macos_metadata_folders(tmp_path, owner):
    data = with_member(zip_of(write_bundle(tmp_path / "b"), prefix="top/"),
                       zipfile.ZipInfo("__MACOSX/top/._manifest.json"), b"junk")
    assert create_study_from_zip(upload=io.BytesIO(data), slug="z1", owner=owner).images.count() == 9


def test_it_refuses_an_upload_over_the_size_limit(tmp_path, owner, settings):
    data = zip_of(write_bundle(tmp_path / "b"))
    settings.QSCHED_MAX_BUNDLE_BYTES = len(data) - 1
    with pytest.raises(BundleError, match="over the limit") as info:
        create_study_from_zip(upload=SimpleUploadedFile("b.zip", data), slug="z1", owner=owner)
    assert (info.value.entry, info.value.field) == ("upload", "size")
    assert Study.objects.count() == 0


def test_it_refuses_a_zip_that_unpacks_over_the_size_limit(tmp_path, owner, settings):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"{}")
        archive.writestr("images/zeros.png", b"\0" * 2_000_000)
    settings.QSCHED_MAX_BUNDLE_BYTES = 1_000_000
    assert len(bomb.getvalue()) < settings.QSCHED_MAX_BUNDLE_BYTES
    with pytest.raises(BundleError, match="unpacked bundle is over the limit"):
        create_study_from_zip(upload=bomb, slug="z1", owner=owner)


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "images/../../evil.txt", "C:/evil.txt"])
def test_it_refuses_member_names_that_leave_the_bundle(tmp_path, owner, name):
    data = with_member(zip_of(write_bundle(tmp_path / "b")), zipfile.ZipInfo(name), b"x")
    with pytest.raises(BundleError, match="leaves the bundle") as info:
        create_study_from_zip(upload=io.BytesIO(data), slug="z1", owner=owner)
    assert info.value.entry == f"upload:{name}" and info.value.field == "name"
    assert not (tmp_path / "evil.txt").exists()


def test_it_refuses_links_inside_the_zip(tmp_path, owner):
    link = zipfile.ZipInfo("images/link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = with_member(zip_of(write_bundle(tmp_path / "b")), link, b"/etc/passwd")
    with pytest.raises(BundleError, match="links are not allowed"):
        create_study_from_zip(upload=io.BytesIO(data), slug="z1", owner=owner)


def test_it_refuses_something_that_is_not_a_zip(owner):
    with pytest.raises(BundleError, match="not a readable zip") as info:
        create_study_from_zip(upload=SimpleUploadedFile("b.zip", b"PK\x03\x04 not really"), slug="z1", owner=owner)
    assert (info.value.entry, info.value.field) == ("upload", "zip")


def test_it_refuses_a_zip_without_a_manifest(tmp_path, owner):
    root = write_bundle(tmp_path / "b")
    (root / "manifest.json").unlink()
    with pytest.raises(BundleError, match="manifest.json"):
        create_study_from_zip(upload=io.BytesIO(zip_of(root, prefix="x/")), slug="z1", owner=owner)


def test_a_bundle_error_inside_the_zip_names_the_entry_and_writes_nothing(tmp_path, owner, settings):
    root = write_bundle(tmp_path / "b")
    (root / "images/w4a8/p0002_s0.png").unlink()
    with pytest.raises(BundleError) as info:
        create_study_from_zip(upload=io.BytesIO(zip_of(root)), slug="z1", owner=owner)
    assert (info.value.entry, info.value.field) == ("images[5]", "path")
    assert Study.objects.count() == 0 and media_files(settings) == []
