"""The demo bundle is built from the reference model with the real generation module."""

import json

import pytest

from generation.reference.demo import build_demo_bundle, demo_prompts, load_qsched_coefficients


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "bundle"
    return build_demo_bundle(out, n_prompts=2, seeds=[0], progress=False)


def test_it_writes_a_valid_contract_bundle_with_the_four_systems_and_every_pair(bundle):
    from generation.manifest import validate_bundle

    manifest = validate_bundle(bundle)
    assert manifest["format"] == "qsched-bundle/1"
    assert [s["id"] for s in manifest["systems"]] == ["fp32", "fp32-qsched", "w4a8", "w4a8-qsched"]
    assert len(manifest["images"]) == 4 * 2
    assert len({tuple(sorted((c["a"], c["b"]))) for c in manifest["comparisons"]}) == 6
    for s in manifest["systems"]:
        assert "jaq" in s["metrics"] and "fid" in s["metrics"]


def test_each_qsched_system_records_the_coefficients_calibrated_on_its_own_base(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    configs = {s["id"]: s["config"] for s in manifest["systems"]}
    for base in ("fp32", "w4a8"):
        shipped = load_qsched_coefficients(system=base)
        config = configs[f"{base}-qsched"]
        assert config["calibrated_on"] == base
        assert config["c_x"] == shipped["c_x"] and config["c_theta"] == shipped["c_theta"]


def test_shipped_coefficients_for_an_unknown_system_are_refused_by_name(tmp_path):
    from generation.reference.coefficients import save_qsched_coefficients

    path = save_qsched_coefficients({"systems": {"w4a8": {"c_x": [1.0, 1.0], "c_theta": [1.0, 1.0]}}},
                                    tmp_path / "q.json")
    assert load_qsched_coefficients(path, "w4a8")["c_x"] == [1.0, 1.0]
    with pytest.raises(ValueError, match="no Q-Sched coefficients for system 'fp32'"):
        load_qsched_coefficients(path, "fp32")
    with pytest.raises(ValueError, match="'c_theta'"):
        save_qsched_coefficients({"systems": {"w4a8": {"c_x": [1.0, 1.0]}}}, tmp_path / "r.json")


def test_prompts_mix_seen_and_held_out_combinations():
    from generation.reference import world

    prompts = demo_prompts(6)
    held = {s.caption for s in world.distinct_scenes(200, seed=32, split="heldout")}
    assert len(set(prompts)) == 6
    assert sum(p in held for p in prompts) == 3


def test_bad_arguments_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="n_prompts"):
        demo_prompts(0)
    with pytest.raises(ValueError, match="upscale"):
        build_demo_bundle(tmp_path / "b", n_prompts=1, upscale=0, progress=False)


def test_each_systems_jaq_is_the_papers_form_with_the_reference_scorer_standing_in_for_clip(bundle):
    import math

    manifest = json.loads((bundle / "manifest.json").read_text())
    for s in manifest["systems"]:
        m = s["metrics"]
        assert 0 < m["clip_score"] <= 100
        assert m["jaq"] == pytest.approx(math.log(m["clip_score"]) + 2.0 * m["iqa"])


def test_the_paper_jaqs_standard_error_is_the_delta_method_one():
    import torch

    from generation.jaq import JAQ
    from generation.reference.results import jaq_standard_error

    cos, iqa = [20.0, 30.0, 40.0, 50.0], [0.1, 0.4, 0.2, 0.3]
    jaq = JAQ(text_image=lambda ims, ps: torch.tensor(cos), quality=lambda ims: torch.tensor(iqa))
    scored = jaq.score([object()] * 4, ["p"] * 4)
    z = torch.tensor(cos) / 35.0 + 2.0 * torch.tensor(iqa)  # d/dc_i log(mean c) = 1 / (n mean c)
    assert jaq_standard_error(jaq, scored) == pytest.approx(float(z.std() / 2.0))


def test_a_rerun_resumes_the_same_plan_and_regenerates_nothing(bundle):
    before = json.loads((bundle / "manifest.json").read_text())
    stamps = {i["path"]: (bundle / i["path"]).stat().st_mtime_ns for i in before["images"]}
    build_demo_bundle(bundle, n_prompts=2, seeds=[0], progress=False)
    after = json.loads((bundle / "manifest.json").read_text())
    assert after == before
    assert {p: (bundle / p).stat().st_mtime_ns for p in stamps} == stamps


def test_the_results_module_does_not_import_the_demo():
    import subprocess
    import sys

    code = ("import sys, generation.reference.results; "
            "print('generation.reference.demo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
