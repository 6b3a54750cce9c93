"""studies.bundle.load_bundle: every rule of contract section 1, each error naming entry and field."""
import json
import os

import pytest
from PIL import Image as PILImage

from studies.bundle import BundleError, load_bundle

from tests.platform.bundles import edit_manifest, write_bundle


def refused(root) -> BundleError:
    with pytest.raises(BundleError) as info:
        load_bundle(root)
    error = info.value
    # the message names both the entry and the field
    assert error.entry in str(error)
    assert error.field in str(error)
    return error


def test_it_reads_a_valid_bundle_with_all_pairs(tmp_path):
    spec = load_bundle(write_bundle(tmp_path / "b", n_prompts=2, seeds=(0, 7)))
    assert [s.key for s in spec.systems] == ["fp16", "w4a8", "w4a8-qsched"]
    assert [p.key for p in spec.prompts] == ["p0000", "p0001"]
    assert len(spec.images) == 3 * 2 * 2
    assert spec.pairs == [("fp16", "w4a8"), ("fp16", "w4a8-qsched"), ("w4a8", "w4a8-qsched")]
    assert len(spec.comparisons) == 3 * 2 * 2
    assert all(img.suffix == ".png" and len(img.sha256) == 64 for img in spec.images)


def test_it_forms_comparisons_only_where_both_systems_have_an_image(tmp_path):
    root = write_bundle(tmp_path / "b", n_prompts=3, comparisons=[{"a": "w4a8-qsched", "b": "fp16"}])
    edit_manifest(root, lambda m: m.update(images=[i for i in m["images"]
                                                   if not (i["system"] == "fp16" and i["prompt"] == "p0001")]))
    spec = load_bundle(root)
    assert [(c.prompt, c.image_a.system, c.image_b.system) for c in spec.comparisons] == [
        ("p0000", "w4a8-qsched", "fp16"), ("p0002", "w4a8-qsched", "fp16")]


def test_it_accepts_a_missing_sha256(tmp_path):
    spec = load_bundle(write_bundle(tmp_path / "b", with_sha=False))
    assert len(spec.images) == 9


def test_it_accepts_jpeg_and_webp(tmp_path):
    root = write_bundle(tmp_path / "b", n_prompts=1)

    def to_formats(m):
        for entry, (fmt, ext) in zip(m["images"], [("JPEG", "jpg"), ("WEBP", "webp")], strict=False):
            new = entry["path"].replace(".png", f".{ext}")
            PILImage.new("RGB", (8, 8), (1, 2, 3)).save(root / new, fmt)
            entry["path"] = new
            del entry["sha256"]

    edit_manifest(root, to_formats)
    assert sorted(i.suffix for i in load_bundle(root).images) == [".jpg", ".png", ".webp"]


def test_it_refuses_bad_json(tmp_path):
    root = write_bundle(tmp_path / "b")
    (root / "manifest.json").write_text('{"format": "qsched-bundle/1",')
    error = refused(root)
    assert error.entry == "manifest.json" and "invalid JSON" in str(error)


def test_it_refuses_an_unsupported_format(tmp_path):
    root = write_bundle(tmp_path / "b")
    edit_manifest(root, lambda m: m.update(format="qsched-bundle/9"))
    error = refused(root)
    assert (error.entry, error.field) == ("manifest", "format")


def test_it_refuses_a_missing_manifest(tmp_path):
    (tmp_path / "empty").mkdir()
    assert refused(tmp_path / "empty").entry == "manifest.json"


@pytest.mark.parametrize("change, entry, field, words", [
    (lambda m: m["images"][4].update(system="nope"), "images[4]", "system", "unknown system"),
    (lambda m: m["images"][2].update(prompt="p9999"), "images[2]", "prompt", "unknown prompt"),
    (lambda m: m["images"][1].update(seed=-1), "images[1]", "seed", "integer"),
    (lambda m: m["images"][1].update(seed=True), "images[1]", "seed", "integer"),
    (lambda m: m["images"][3].update(sha256="0" * 64), "images[3]", "sha256", "does not match"),
    (lambda m: m["images"][3].update(sha256="xyz"), "images[3]", "sha256", "64 hex"),
    (lambda m: m["images"].append(dict(m["images"][0])), "images[9]", "seed", "duplicate image"),
    (lambda m: m["images"][5].update(path=m["images"][0]["path"], sha256=m["images"][0]["sha256"]),
     "images[5]", "path", "already used"),
    (lambda m: m["images"][0].update(path="images/fp16/missing.png"), "images[0]", "path", "no such file"),
    (lambda m: m["images"][0].update(path="../outside.png"), "images[0]", "path", "leaves the bundle"),
    (lambda m: m["images"][0].update(path="images/../../outside.png"), "images[0]", "path", "leaves the bundle"),
    (lambda m: m["images"][0].update(path="/etc/passwd"), "images[0]", "path", "absolute"),
    (lambda m: m["images"][0].update(path="images\\fp16\\p0000_s0.png"), "images[0]", "path", "forward slashes"),
    (lambda m: m["images"][0].update(path="images"), "images[0]", "path", "not a regular file"),
    (lambda m: m["images"][0].update(metrics={"jaq": "high"}), "images[0]", "metrics", "finite number"),
    (lambda m: m["systems"].append({"id": "fp16"}), "systems[3]", "id", "duplicate system"),
    (lambda m: m["systems"][1].update(id="bad id!"), "systems[1]", "id", "1-64 characters"),
    (lambda m: m["systems"][1].update(id="x" * 65), "systems[1]", "id", "1-64 characters"),
    (lambda m: m.update(systems=m["systems"][:1]), "manifest", "systems", "at least 2"),
    (lambda m: m["prompts"].append({"id": "p0000", "text": "again"}), "prompts[3]", "id", "duplicate prompt"),
    (lambda m: m["prompts"][0].update(text=""), "prompts[0]", "text", "non-empty"),
    (lambda m: m.update(images=[]), "manifest", "images", "non-empty list"),
    (lambda m: m.update(comparisons=[{"a": "fp16", "b": "ghost"}]), "comparisons[0]", "b", "unknown system"),
    (lambda m: m.update(comparisons=[{"a": "fp16", "b": "fp16"}]), "comparisons[0]", "b", "itself"),
    (lambda m: m.update(comparisons=[{"a": "fp16", "b": "w4a8"}, {"a": "w4a8", "b": "fp16"}]),
     "comparisons[1]", "b", "duplicate pair"),
    (lambda m: m.update(comparisons="some-pairs"), "manifest", "comparisons", "all-pairs"),
])
def test_it_refuses_a_broken_manifest_naming_entry_and_field(tmp_path, change, entry, field, words):
    root = write_bundle(tmp_path / "b")
    edit_manifest(root, change)
    error = refused(root)
    assert (error.entry, error.field) == (entry, field)
    assert words in str(error)


def test_it_refuses_a_pair_with_no_common_prompt_and_seed(tmp_path):
    root = write_bundle(tmp_path / "b", comparisons=[{"a": "fp16", "b": "w4a8"}])
    edit_manifest(root, lambda m: m.update(images=[i for i in m["images"] if i["system"] != "w4a8"]))
    error = refused(root)
    assert (error.entry, error.field) == ("comparisons[0]", "b")


def test_it_refuses_an_unreadable_image(tmp_path):
    root = write_bundle(tmp_path / "b", with_sha=False)
    (root / "images/w4a8/p0001_s0.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    error = refused(root)
    assert (error.entry, error.field) == ("images[4]", "path")
    assert "not a readable" in str(error)


def test_it_refuses_a_truncated_image(tmp_path):
    root = write_bundle(tmp_path / "b", with_sha=False)
    PILImage.new("RGB", (64, 64), (9, 9, 9)).save(root / "images/fp16/p0000_s0.png")
    data = (root / "images/fp16/p0000_s0.png").read_bytes()
    (root / "images/fp16/p0000_s0.png").write_bytes(data[: len(data) // 2])
    assert refused(root).entry == "images[0]"


def test_it_refuses_an_unsupported_image_format(tmp_path):
    root = write_bundle(tmp_path / "b", with_sha=False)
    PILImage.new("RGB", (8, 8)).save(root / "images/fp16/p0000_s0.png", "GIF")
    error = refused(root)
    assert (error.entry, error.field) == ("images[0]", "path")
    assert "GIF" in str(error)


def test_it_refuses_a_link_leading_out_of_the_bundle(tmp_path):
    root = write_bundle(tmp_path / "b", with_sha=False)
    outside = tmp_path / "secret.png"
    PILImage.new("RGB", (8, 8)).save(outside)
    target = root / "images/fp16/p0001_s0.png"
    target.unlink()
    os.symlink(outside, target)
    error = refused(root)
    assert (error.entry, error.field) == ("images[1]", "path")
    assert "link leading out" in str(error)


def test_it_accepts_a_link_that_stays_inside_the_bundle(tmp_path):
    root = write_bundle(tmp_path / "b", with_sha=False)
    target = root / "images/fp16/p0001_s0.png"
    os.replace(target, root / "images/moved.png")
    os.symlink(root / "images/moved.png", target)
    assert len(load_bundle(root).images) == 9


def test_it_refuses_a_manifest_that_is_not_an_object(tmp_path):
    root = write_bundle(tmp_path / "b")
    (root / "manifest.json").write_text(json.dumps([1, 2]))
    assert "JSON object" in str(refused(root))
