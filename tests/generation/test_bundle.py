"""Bundles from tiny real pipelines: contract validity, shared initial noise, resume, bad input."""

import json
import os

import numpy as np
import pytest
import torch

from generation.bundle import System, generate_system
from generation.jaq import JAQ
from generation.manifest import BundleError, validate_bundle
from generation.plan import write_bundle
from generation.qsched import QSched
from generation.quantize import quantize_denoiser
from tests.generation.tiny import tiny_sd_pipeline

PROMPTS = ["a red fox", "a blue bird"]
CALL = dict(num_inference_steps=2, guidance_scale=1.0, height=16, width=16, progress=False)


def stub_jaq():
    return JAQ(text_image=lambda ims, ps: torch.tensor([float(np.asarray(i).mean()) / 2.55 for i in ims]),
               quality=lambda ims: torch.tensor([float(np.asarray(i).std()) / 255 for i in ims]), k=2.0)


def _quantized(qsched=False):
    pipe = tiny_sd_pipeline("lcm")
    quantize_denoiser(pipe.unet, "w4a8", backend="fake")
    if qsched:
        pipe.scheduler = QSched(pipe.scheduler, c_x=(1.05, 1.0), c_theta=(0.95, 1.0))
    return pipe


@pytest.fixture(scope="module")
def systems():
    return [
        System("fp32", "tiny FP32", tiny_sd_pipeline("lcm")),
        System("w4a8", "tiny W4A8", _quantized()),
        System("w4a8-qsched", "tiny W4A8 + Q-Sched", _quantized(True), config={"c_x": [1.05, 1.0], "c_theta": [0.95, 1.0]}),
    ]


def test_the_bundle_follows_the_contract(tmp_path, systems):
    m = write_bundle(tmp_path, "tiny-w4a8", systems, PROMPTS, [0, 1], jaq=stub_jaq(), batch_size=3,
                     comparisons=[("w4a8-qsched", "w4a8"), ("w4a8-qsched", "fp32")], **CALL)
    assert validate_bundle(tmp_path) == m == json.loads((tmp_path / "manifest.json").read_text())
    assert m["format"] == "qsched-bundle/1" and [s["id"] for s in m["systems"]] == ["fp32", "w4a8", "w4a8-qsched"]
    assert m["prompts"] == [{"id": "p0001", "text": "a red fox"}, {"id": "p0002", "text": "a blue bird"}]
    assert len(m["images"]) == 12
    assert m["comparisons"] == [{"a": "w4a8-qsched", "b": "w4a8"}, {"a": "w4a8-qsched", "b": "fp32"}]
    first = m["images"][0]
    assert first["path"] == "images/fp32/p0001_s0.png" and set(first["metrics"]) == {"jaq", "clip_score", "iqa"}
    for s in m["systems"]:
        mine = [i["metrics"] for i in m["images"] if i["system"] == s["id"]]
        clip, iqa = np.mean([x["clip_score"] for x in mine]), np.mean([x["iqa"] for x in mine])
        assert s["metrics"]["jaq"] == pytest.approx(np.log(clip) + 2.0 * iqa)  # the paper's JAQ of the set
    assert m["systems"][2]["config"] == {"c_x": [1.05, 1.0], "c_theta": [0.95, 1.0]}
    images = {(i["system"], i["prompt"], i["seed"]): np.asarray(__import__("PIL.Image").Image.open(tmp_path / i["path"]))
              for i in m["images"]}
    assert not np.array_equal(images["fp32", "p0001", 0], images["w4a8", "p0001", 0])  # quantization shows
    assert not np.array_equal(images["fp32", "p0001", 0], images["fp32", "p0001", 1])  # seeds differ


def test_every_system_starts_a_prompt_and_seed_from_the_same_noise(tmp_path, systems):
    first_inputs = {}

    def hook(system_id):
        def capture(module, args, kwargs):
            first_inputs.setdefault(system_id, args[0].detach().clone())
        return capture

    handles = [s.pipe.unet.register_forward_pre_hook(hook(s.id), with_kwargs=True) for s in systems]
    try:
        write_bundle(tmp_path, "noise", systems, PROMPTS, [5, 7], batch_size=4, **CALL)
    finally:
        for h in handles:
            h.remove()
    ref = first_inputs["fp32"]
    assert ref.shape[0] == 4
    for sid in ("w4a8", "w4a8-qsched"):
        assert torch.equal(first_inputs[sid], ref)
    assert not torch.equal(ref[0], ref[1])


def test_a_resumed_run_skips_verified_images_and_regenerates_damaged_ones(tmp_path, systems):
    calls = {"n": 0}
    real = systems[0].pipe

    class Crashing:
        components = {}

        def __call__(self, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt  # the machine goes away mid-run
            return real(**kwargs)

    other = System("w4a8", "W4A8", systems[1].pipe)  # a bundle compares two systems at least
    with pytest.raises(KeyboardInterrupt):
        write_bundle(tmp_path, "resume", [System("fp32", "FP32", Crashing()), other], PROMPTS, [0, 1], batch_size=2,
                     **CALL)
    done = sorted(p.name for p in (tmp_path / "images" / "fp32").iterdir())
    assert done == ["p0001_s0.png", "p0001_s1.png"]
    original = (tmp_path / "images" / "fp32" / "p0001_s1.png").read_bytes()
    (tmp_path / "images" / "fp32" / "p0001_s1.png").write_bytes(original[:40])  # damaged file
    counts = generate_system(tmp_path, System("fp32", "FP32", real), PROMPTS, [0, 1], batch_size=2,
                             num_inference_steps=2, guidance_scale=1.0, height=16, width=16)
    assert counts == {"generated": 3, "verified": 1, "regenerated": 1}
    assert (tmp_path / "images" / "fp32" / "p0001_s1.png").read_bytes() == original  # deterministic
    factory_calls = []
    m = write_bundle(tmp_path, "resume", [System("fp32", "FP32", lambda: factory_calls.append(1) or real), other],
                     PROMPTS, [0, 1], **CALL)
    assert factory_calls == [] and len([i for i in m["images"] if i["system"] == "fp32"]) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"prompts": []}, "the prompt list is empty"),
    ({"seeds": []}, "the seed list is empty"),
    ({"seeds": [0, -1]}, "seed -1 is not a non-negative integer"),
    ({"name": "bad name!"}, r"bundle name: 'bad name!' is not a valid id"),
    ({"comparisons": [("fp32", "nope")]}, r"comparisons\[0\].b: unknown system 'nope'"),
    ({"comparisons": [("fp32", "fp32")]}, "cannot be compared with itself"),
])
def test_bad_bundle_input_is_refused_before_any_work(tmp_path, kwargs, message):
    args = {"name": "ok", "prompts": PROMPTS, "seeds": [0], **kwargs}
    factory = []
    with pytest.raises(ValueError, match=message):
        write_bundle(tmp_path / "b", args.pop("name"), [System("fp32", "FP32", lambda: factory.append(1))],
                     args.pop("prompts"), args.pop("seeds"), **args, **CALL)
    assert factory == []


def test_an_unwritable_output_dir_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="output directory .*file/bundle.* is not writable"):
        write_bundle(tmp_path / "file" / "bundle", "ok", [System("fp32", "FP32", lambda: None),
                                                          System("w4a8", "W4A8", lambda: None)], PROMPTS, [0], **CALL)


def _manifest(tmp_path, image_path="images/a.png", **image):
    (tmp_path / "images").mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.new("RGB", (4, 4)).save(tmp_path / "images" / "a.png")
    m = {"format": "qsched-bundle/1", "name": "x", "systems": [{"id": "s1"}, {"id": "s2"}],
         "prompts": [{"id": "p1", "text": "t"}],
         "images": [{"system": "s1", "prompt": "p1", "seed": 0, "path": image_path, **image}],
         "comparisons": "all-pairs"}
    (tmp_path / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("path, extra, message", [
    ("../outside.png", {}, r"images\[0\].path: '../outside.png' must stay inside the bundle"),
    ("/etc/passwd.png", {}, r"images\[0\].path: .* must stay inside"),
    ("images/a.gif", {}, r"images\[0\].path: 'images/a.gif' is not a PNG, JPEG or WebP"),
    ("images/a.png", {"sha256": "0" * 64}, r"images\[0\].sha256: does not match"),
    ("images/a.png", {"seed": "0"}, r"images\[0\].seed: must be an integer"),
])
def test_the_contract_check_names_the_entry_and_field(tmp_path, path, extra, message):
    _manifest(tmp_path, path, **extra)
    with pytest.raises(BundleError, match=message):
        validate_bundle(tmp_path)


def test_the_contract_check_refuses_a_link_leading_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    bundle = tmp_path / "bundle"
    _manifest(bundle, "images/link.png")
    from PIL import Image

    Image.new("RGB", (4, 4)).save(outside / "x.png")
    os.symlink(outside / "x.png", bundle / "images" / "link.png")
    with pytest.raises(BundleError, match="leads outside the bundle through a link"):
        validate_bundle(bundle)


def test_per_system_fid_uses_the_given_reference_and_feature_extractor(tmp_path, systems):
    from PIL import Image

    ref = tmp_path / "ref"
    ref.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(ref / f"{i}.png")

    def mean_rgb(images):
        return np.stack([np.asarray(im, np.float64).mean(axis=(0, 1)) / 255 for im in images])

    m = write_bundle(tmp_path / "b", "fid", systems[:2], PROMPTS, [0, 1, 2], fid_reference=ref, fid_extractor=mean_rgb,
                     batch_size=6, **CALL)
    from generation.fid import fid_between

    for s in m["systems"]:
        files = [tmp_path / "b" / i["path"] for i in m["images"] if i["system"] == s["id"]]
        assert s["metrics"]["fid"] == pytest.approx(fid_between(files, ref, mean_rgb, progress=False))
        assert s["metrics"]["fid"] > 0


def test_cached_image_scores_are_reused_only_by_the_scorer_that_made_them(tmp_path, systems):
    from generation.plan import finalize

    calls = []

    def counting(variant):
        jaq = stub_jaq()
        jaq.variant = variant
        quality = jaq.quality
        jaq.quality = lambda ims: calls.append(len(ims)) or quality(ims)
        return jaq

    write_bundle(tmp_path, "rescore", systems[:2], PROMPTS, [0], jaq=counting("paper"), **CALL)
    assert sum(calls) == 4
    again = finalize(tmp_path, jaq=counting("paper"), progress=False)
    assert sum(calls) == 4  # same scorer: read from the state files
    linear = finalize(tmp_path, jaq=counting("linear"), progress=False)
    assert sum(calls) == 8  # another criterion scores every image again
    for s in linear["systems"]:
        per_image = [i["metrics"]["jaq"] for i in linear["images"] if i["system"] == s["id"]]
        assert s["metrics"]["jaq"] == pytest.approx(np.mean(per_image))
    assert again["systems"][0]["metrics"]["jaq"] != linear["systems"][0]["metrics"]["jaq"]
