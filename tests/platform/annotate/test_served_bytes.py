"""Finding 2: served bytes carry no trace of the source (format, metadata); size leaks are reported."""
import hashlib
import io
import json
import random
import struct
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

from studies.models import Image
from studies.services import create_study_from_bundle
from studies.size_leak import size_leaks

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunks(data: bytes) -> list[str]:
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append(kind.decode("ascii"))
        pos += 12 + length
    return chunks


def _picture(seed: int, noisy: bool = True) -> PILImage.Image:
    rng = random.Random(seed)
    if not noisy:
        return PILImage.new("RGB", (16, 16), (rng.randrange(256), 90, 160))
    return PILImage.frombytes("RGB", (16, 16), bytes(rng.randrange(256) for _ in range(16 * 16 * 3)))


def _write_mixed_bundle(root: Path, n_prompts: int = 2, *, flat_system: str = "") -> Path:
    """System 'jpegsys' as JPEG with EXIF and a comment; 'pngsys' as PNG with a generator's text chunk."""
    (root / "images").mkdir(parents=True)
    prompts = [{"id": f"p{i}", "text": f"prompt {i}"} for i in range(n_prompts)]
    images = []
    for i in range(n_prompts):
        for system in ("jpegsys", "pngsys"):
            picture = _picture(1000 * i + len(system) + (system == "pngsys"), noisy=system != flat_system)
            if system == "jpegsys":
                rel = f"images/{system}-{i}.jpg"
                exif = PILImage.Exif()
                exif[0x0131] = "generator w4a8-qsched"  # Software
                picture.save(root / rel, "JPEG", quality=95, exif=exif.tobytes(), comment=b"model=w4a8-qsched")
            else:
                rel = f"images/{system}-{i}.png"
                info = PngInfo()
                info.add_text("parameters", "model=w4a8-qsched, steps=4")
                picture.save(root / rel, "PNG", pnginfo=info)
            images.append({"system": system, "prompt": f"p{i}", "seed": 0, "path": rel})
    manifest = {"format": "qsched-bundle/1", "name": "mixed", "systems": [{"id": "jpegsys"}, {"id": "pngsys"}],
                "prompts": prompts, "images": images}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_served_images_of_two_systems_share_one_format_and_carry_no_text(owner, tmp_path, client):
    bundle = _write_mixed_bundle(tmp_path / "bundle")
    # The inputs really differ in format and carry the generator's name.
    assert (bundle / "images/jpegsys-0.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert b"w4a8-qsched" in (bundle / "images/pngsys-0.png").read_bytes()
    create_study_from_bundle(bundle_dir=bundle, slug="demo", owner=owner, launch=True)
    token = client.post("/api/studies/demo/sessions", {}, content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    task = client.get("/api/session/next", **auth).json()
    served = {}
    for side in ("left", "right"):
        response = client.get(task[side]["url"], **auth)
        assert response.status_code == 200
        served[side] = (response["Content-Type"], b"".join(response.streaming_content))
    assert served["left"][0] == served["right"][0] == "image/png"
    for content_type, data in served.values():
        assert _png_chunks(data) == ["IHDR"] + ["IDAT"] * (len(_png_chunks(data)) - 2) + ["IEND"]
        assert b"w4a8" not in data and b"Exif" not in data and b"parameters" not in data


def test_the_served_png_has_the_same_pixels_and_the_original_is_kept(owner, tmp_path):
    bundle = _write_mixed_bundle(tmp_path / "bundle")
    study = create_study_from_bundle(bundle_dir=bundle, slug="demo", owner=owner)
    for image in Image.objects.filter(study=study).select_related("system"):
        source = (bundle / image.bundle_path).read_bytes()
        with image.original.open("rb") as fh:
            assert fh.read() == source
        assert image.sha256 == hashlib.sha256(source).hexdigest()
        with image.file.open("rb") as fh:
            served = fh.read()
        assert image.file.name.endswith(".png") and image.system.key not in image.file.name
        with PILImage.open(io.BytesIO(served)) as got, PILImage.open(io.BytesIO(source)) as want:
            assert got.format == "PNG" and got.mode == "RGB"
            assert got.tobytes() == want.convert("RGB").tobytes()


def test_a_refused_import_leaves_neither_served_nor_original_files(owner, tmp_path, settings):
    bundle = _write_mixed_bundle(tmp_path / "bundle")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["images"][-1]["sha256"] = "0" * 64
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception):
        create_study_from_bundle(bundle_dir=bundle, slug="demo", owner=owner)
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


def test_the_import_report_warns_when_file_size_predicts_the_system(owner, tmp_path):
    # pngsys renders flat pictures (tiny PNGs), jpegsys noisy ones: size gives the system away.
    bundle = _write_mixed_bundle(tmp_path / "bundle", n_prompts=12, flat_system="pngsys")
    study = create_study_from_bundle(bundle_dir=bundle, slug="demo", owner=owner)
    assert len(study.import_warnings) == 1
    assert "file size predicts the system" in study.import_warnings[0]
    assert "'jpegsys'" in study.import_warnings[0] and "12 of 12" in study.import_warnings[0]


def test_no_warning_when_sizes_do_not_follow_the_system(owner, tmp_path):
    bundle = _write_mixed_bundle(tmp_path / "bundle", n_prompts=12)  # both noisy: equal sizes
    assert create_study_from_bundle(bundle_dir=bundle, slug="demo", owner=owner).import_warnings == []


def test_the_sign_test_flags_a_consistent_size_gap_and_not_random_sizes():
    rng = random.Random(7)
    random_sizes = {(s, f"p{i}", 0): rng.randrange(1000, 2000) for s in ("a", "b", "c") for i in range(200)}
    assert size_leaks(random_sizes) == []
    leaky = dict(random_sizes)
    for i in range(200):
        leaky[("c", f"p{i}", 0)] = leaky[("a", f"p{i}", 0)] + rng.randrange(-50, 400)
    leaks = {(leak.larger, leak.smaller): leak for leak in size_leaks(leaky)}
    assert ("c", "a") in leaks and ("a", "b") not in leaks and ("b", "a") not in leaks
    assert leaks[("c", "a")].accuracy > 0.75 and leaks[("c", "a")].p_value < 1e-6
