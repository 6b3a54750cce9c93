"""`python -m generation ...` end to end on a tiny saved pipeline; presets; plans split into chunks."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from generation import plan as plans
from generation.cli import main
from generation.manifest import validate_bundle
from generation.presets import PRESETS, MissingWeightsError, get_preset, load_preset
from generation.qsched import QSched
from tests.generation.tiny import tiny_sd_pipeline

TINY = ["--steps", "2", "--guidance", "1", "--height", "16", "--width", "16"]


def stub_jaq():
    """A JAQ-like scorer for the CLI's --jaq-factory (brightness as alignment, contrast as quality)."""
    from generation.jaq import JAQ

    return JAQ(text_image=lambda ims, ps: torch.tensor([float(np.asarray(i).mean()) / 2.55 for i in ims]),
               quality=lambda ims: torch.tensor([float(np.asarray(i).std()) / 255 for i in ims]))


@pytest.fixture(scope="module")
def saved_pipeline(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-lcm")
    tiny_sd_pipeline("lcm").save_pretrained(path)
    return path


def test_bundle_command_writes_a_valid_bundle_and_resumes(saved_pipeline, tmp_path, capsys):
    out = tmp_path / "bundle"
    argv = ["bundle", "--pipeline", str(saved_pipeline), "--systems", "fp32,w4a8,w4a8+qsched", "--c-x", "1.05,1",
            "--c-theta", "0.95,1", "--prompt", "a red fox", "--prompt", "a blue bird", "--seeds", "0-1",
            "--jaq-factory", "tests.generation.test_cli:stub_jaq", "--comparisons", "w4a8-qsched:w4a8",
            "--out", str(out), *TINY]
    assert main(argv) == 0
    m = validate_bundle(out)
    assert [s["id"] for s in m["systems"]] == ["fp32", "w4a8", "w4a8-qsched"]
    assert m["systems"][2]["config"]["qsched"] == {"c_x": [1.05, 1.0], "c_theta": [0.95, 1.0]}
    assert (m["systems"][2]["config"]["c_x"], m["systems"][2]["config"]["c_theta"]) == ([1.05, 1.0], [0.95, 1.0])
    assert "c_x" not in m["systems"][1]["config"]
    assert len(m["images"]) == 12 and all("jaq" in i["metrics"] for i in m["images"])
    assert m["comparisons"] == [{"a": "w4a8-qsched", "b": "w4a8"}]
    stamps = {p: p.stat().st_mtime_ns for p in (out / "images").rglob("*.png")}
    assert main(argv) == 0  # resume: nothing regenerated
    assert stamps == {p: p.stat().st_mtime_ns for p in (out / "images").rglob("*.png")}
    changed = argv[:argv.index("--seeds") + 1] + ["0-2"] + argv[argv.index("--seeds") + 2:]
    assert main(changed) == 2
    assert "holds a different plan" in capsys.readouterr().err


def test_a_plan_split_into_chunks_on_two_workers_gives_the_same_bundle(saved_pipeline, tmp_path):
    from generation.systems import parse_system

    manifests = []
    for name, chunk_size in (("one", 3), ("split", 1)):
        out = tmp_path / name
        plan = plans.write_plan(out, name="b", systems=[parse_system("fp32"), parse_system("w4a8")],
                                prompts=["a red fox", "a blue bird", "a cat"], seeds=[0],
                                call={"num_inference_steps": 2, "guidance_scale": 1.0, "height": 16, "width": 16},
                                source={"model_path": str(saved_pipeline)}, batch_size=2)
        work = plans.chunks(plan, chunk_size)
        assert len(work) == 2 * (3 // chunk_size)
        for system_id, prompt_ids in reversed(work):  # any order, as workers pick them
            plans.run_chunk(out, system_id, prompt_ids)
        manifests.append(plans.finalize(out, progress=False))
    from PIL import Image

    assert [i["path"] for i in manifests[0]["images"]] == [i["path"] for i in manifests[1]["images"]]
    for image in manifests[0]["images"]:
        a = np.asarray(Image.open(tmp_path / "one" / image["path"]), dtype=np.float32)
        b = np.asarray(Image.open(tmp_path / "split" / image["path"]), dtype=np.float32)
        # batch composition may move float rounding (and so an int8 activation code), never the image
        assert np.abs(a - b).mean() < 0.05 and np.abs(a - b).max() <= 2


def test_the_celery_tasks_are_thin_wrappers_of_the_plan_services(saved_pipeline, tmp_path):
    from generation import tasks
    from generation.systems import parse_system

    out = tmp_path / "celery"
    plans.write_plan(out, name="c", systems=[parse_system("fp32"), parse_system("w4a8")], prompts=["a red fox"],
                     seeds=[3], call={"num_inference_steps": 2, "guidance_scale": 1.0, "height": 16, "width": 16},
                     source={"model_path": str(saved_pipeline)})
    assert tasks.generate_chunk.name == "generation.generate_chunk"
    assert tasks.generate_chunk.run(str(out), "fp32", ["p0001"]) == {"generated": 1, "verified": 0, "regenerated": 0}
    assert tasks.generate_chunk.run(str(out), "w4a8", ["p0001"]) == {"generated": 1, "verified": 0, "regenerated": 0}
    assert tasks.finalize_bundle_task.run([], str(out)) == 2  # one image per system


def test_calibrate_command_saves_a_loadable_scheduler(saved_pipeline, tmp_path, capsys):
    out = tmp_path / "calib"
    argv = ["calibrate", "--pipeline", str(saved_pipeline), "--quant", "w4a8", "--prompt", "a red fox",
            "--strategy", "grid", "--grid-size", "2", "--jaq-factory", "tests.generation.test_cli:stub_jaq",
            "--out", str(out), *TINY]
    assert main(argv) == 0
    report = json.loads((out / "calibration_report.json").read_text())
    assert len(report["points"]) == 4 and report["pipeline_images"] == 4
    assert isinstance(QSched.from_pretrained(out, subfolder="scheduler"), QSched)
    assert main(argv) == 0
    assert json.loads((out / "calibration_report.json").read_text())["pipeline_images"] == 0  # all cached
    assert "best c_x=" in capsys.readouterr().out


def test_quantize_report_command_prints_the_size_table(saved_pipeline, tmp_path, capsys):
    assert main(["quantize-report", "--pipeline", str(saved_pipeline), "--quant", "w4a8",
                 "--json", str(tmp_path / "r.json")]) == 0
    text = capsys.readouterr().out
    assert "int4" in text and "skipped" in text
    assert json.loads((tmp_path / "r.json").read_text())["ratio_packed"] < 1


@pytest.mark.parametrize("argv, message", [
    (["bundle", "--preset", "nope", "--prompt", "x", "--systems", "fp32", "--out", "{tmp}"], "unknown preset 'nope'"),
    (["bundle", "--pipeline", "{tmp}", "--prompt", "x", "--systems", "w5a5", "--out", "{tmp}", *TINY],
     "unknown precision 'w5a5'"),
    (["bundle", "--pipeline", "{tmp}", "--prompt", "x", "--systems", "w4a8-qsched", "--out", "{tmp}", *TINY],
     "needs Q-Sched coefficients"),
    (["bundle", "--pipeline", "{tmp}", "--prompts", "{tmp}/missing.txt", "--systems", "fp32", "--out", "{tmp}", *TINY],
     "prompt file .* does not exist"),
    (["bundle", "--pipeline", "{tmp}", "--prompt", "x", "--systems", "fp32", "--c-x", "3,1", "--out", "{tmp}/o",
      *TINY, "--systems", "w4a8-qsched"], r"c_x\[0\] \(start\) = 3.0 is outside"),
    (["calibrate", "--pipeline", "{tmp}", "--prompts", "{tmp}/empty.txt", "--out", "{tmp}/o", *TINY],
     "calibration prompt list is empty"),
])
def test_bad_command_input_gives_one_clear_error_line(tmp_path, capsys, argv, message):
    (tmp_path / "empty.txt").write_text("\n")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--jaq-factory", "tests.generation.test_cli:stub_jaq"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert __import__("re").search(message, err)


def test_presets_cover_the_papers_models():
    assert {"lcm-dreamshaper-v7", "pcm-sd15-2", "pcm-sd15-4", "pcm-sd15-8", "pcm-sdxl-2", "pcm-sdxl-4", "pcm-sdxl-8",
            "sdxl-turbo-1", "sdxl-turbo-4", "flux-schnell-4"} <= set(PRESETS)
    flux = get_preset("flux-schnell-4")
    assert (flux.hub_id, flux.steps, flux.guidance_scale, flux.scheduler) == (
        "black-forest-labs/FLUX.1-schnell", 4, 0.0, "FlowMatchEulerDiscreteScheduler")
    assert get_preset("pcm-sdxl-4").scheduler == "TCDScheduler"
    with pytest.raises(ValueError, match="unknown preset 'sd3'; known presets: "):
        get_preset("sd3")


def test_presets_use_the_released_codes_call_settings():
    for name in ("pcm-sd15-2", "pcm-sd15-4", "pcm-sd15-8", "pcm-sdxl-2", "pcm-sdxl-4", "pcm-sdxl-8"):
        assert "eta" not in get_preset(name).pipe_kwargs  # the pipeline's default, 0 (was 0.3)
    assert get_preset("flux-schnell-4").pipe_kwargs == {"max_sequence_length": 512}


def test_the_official_protocol_calibrates_on_the_first_25_prompts_with_a_50_point_grid_and_seed_42(
        tmp_path, monkeypatch, capsys):
    import generation.calibrate as calibration

    seen = {}

    class Report:
        c_x = c_theta = (1.0, 1.0)
        jaq, n_evaluations, pipeline_images, cached_images = 0.0, 0, 0, 0

    def record(pipe, prompts, **kwargs):
        seen.update(kwargs, prompts=prompts)
        return Report()

    monkeypatch.setattr(calibration, "calibrate", record)
    prompts = tmp_path / "sdci.txt"
    prompts.write_text("\n".join(f"prompt {i}" for i in range(40)))
    base = ["calibrate", "--pipeline", str(tmp_path), "--prompts", str(prompts), "--out", str(tmp_path / "o"),
            "--jaq-factory", "tests.generation.test_cli:stub_jaq", *TINY]
    assert main([*base, "--protocol", "official"]) == 0
    assert seen["prompts"] == [f"prompt {i}" for i in range(25)]
    assert (seen["strategy"], seen["grid_size"], seen["bounds"], seen["seed"]) == ("grid", 50, (0.8, 1.2), 42)
    assert main([*base, "--protocol", "paper5"]) == 0
    assert seen["prompts"] == [f"prompt {i}" for i in range(5)] and seen["grid_size"] == 50
    assert main([*base, "--protocol", "official", "--grid-size", "10"]) == 2
    assert "fixes strategy, grid size, bounds and seed; drop --grid-size" in capsys.readouterr().err
    prompts.write_text("one\ntwo\n")
    assert main([*base, "--protocol", "official"]) == 2
    assert "first 25 prompts of a list; got only 2" in capsys.readouterr().err


def test_missing_weights_say_what_to_download_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("QSCHED_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingWeightsError) as e:
        load_preset("sdxl-turbo-4")
    msg = str(e.value)
    assert "hf download stabilityai/sdxl-turbo" in msg and str(tmp_path / "sdxl-turbo") in msg
    with pytest.raises(MissingWeightsError, match="no model_index.json"):
        load_preset("sdxl-turbo-4", model_path=tmp_path)


def test_a_preset_loads_from_a_local_path_with_its_scheduler(saved_pipeline):
    pipe = load_preset("sdxl-turbo-4", model_path=saved_pipeline)
    assert type(pipe.scheduler).__name__ == "EulerAncestralDiscreteScheduler"
    assert pipe.scheduler.config.timestep_spacing == "trailing"
    with pytest.raises(MissingWeightsError, match="LoRA wangfuyun/PCM_Weights/sd15"):
        load_preset("pcm-sd15-4", model_path=saved_pipeline)


def test_prompts_come_from_text_json_or_the_coco_captions_set(tmp_path, monkeypatch):
    from generation.bundle import read_prompts

    (tmp_path / "p.txt").write_text("a red fox\n\n  a blue bird  \n")
    (tmp_path / "p.json").write_text(json.dumps(["a cat", {"text": "a dog"}]))
    coco = {"annotations": [{"image_id": 1, "caption": "A man. "}, {"image_id": 1, "caption": "dup"},
                            {"image_id": 2, "caption": "A bus"}]}
    (tmp_path / "captions.json").write_text(json.dumps(coco))
    assert read_prompts(tmp_path / "p.txt") == ["a red fox", "a blue bird"]
    assert read_prompts(tmp_path / "p.json") == ["a cat", "a dog"]
    monkeypatch.delenv("QSCHED_COCO_CAPTIONS", raising=False)
    with pytest.raises(ValueError, match="needs QSCHED_COCO_CAPTIONS"):
        read_prompts("coco-captions")
    monkeypatch.setenv("QSCHED_COCO_CAPTIONS", str(tmp_path / "captions.json"))
    assert read_prompts("coco-captions") == ["A man.", "A bus"]


def test_a_yaml_mapping_of_prompts_reads_in_file_order_like_sdci(tmp_path):
    from generation.bundle import read_prompts

    path = tmp_path / "sDCI.yaml"
    path.write_text("sa_1: a red fox in snow\nsa_0: 'a lighthouse: at dusk'\n")
    assert read_prompts(path) == ["a red fox in snow", "a lighthouse: at dusk"]
    path.write_text("sa_1: {nested: 1}\n")
    with pytest.raises(ValueError, match="YAML list of prompts or a mapping"):
        read_prompts(path)


def test_the_unquantized_system_is_named_for_the_dtype_it_runs_in(saved_pipeline, tmp_path, capsys):
    from generation.presets import source_dtype
    from generation.systems import build_pipeline, parse_system

    assert source_dtype("sdxl-turbo-4", "cpu") == "float32" and source_dtype("sdxl-turbo-4", "cuda") == "float16"
    assert source_dtype("flux-schnell-4", "cuda") == "bfloat16" and source_dtype(None, "cuda") == "float32"
    assert parse_system("fp32", source_dtype="float32")["dtype"] == "float32"
    assert parse_system("float", source_dtype="float32")["dtype"] == "float32"
    assert parse_system("w4a8", source_dtype="float16")["dtype"] == "float16"
    with pytest.raises(ValueError, match="'fp16' means float16, but the model source loads in float32 here; "
                                         "call it 'fp32'"):
        parse_system("fp16", source_dtype="float32")
    with pytest.raises(ValueError, match="planned in float16 but its model loaded in float32"):
        build_pipeline(parse_system("fp16"), model_path=str(saved_pipeline))  # e.g. a worker without --dtype
    out = tmp_path / "b"
    assert main(["bundle", "--pipeline", str(saved_pipeline), "--c-x", "1.05,1", "--prompt", "a red fox",
                 "--jaq-factory", "tests.generation.test_cli:stub_jaq", "--out", str(out), *TINY]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["id"] for s in manifest["systems"]] == ["fp32", "w4a8", "w4a8-qsched"]  # the default on a CPU
    assert {s["config"]["dtype"] for s in manifest["systems"]} == {"float32"}
    assert main(["bundle", "--pipeline", str(saved_pipeline), "--systems", "fp16,w4a8", "--prompt", "x",
                 "--out", str(tmp_path / "c"), *TINY]) == 2
    assert "call it 'fp32'" in capsys.readouterr().err


def test_validate_prints_ok_for_a_bundle_the_importer_accepts(capsys):
    bundle = Path(__file__).resolve().parents[2] / "docs" / "examples" / "bundle"
    assert main(["validate", str(bundle)]) == 0
    assert capsys.readouterr().out == "ok: 2 systems, 2 prompts, 4 images, 2 comparisons\n"


def test_validate_names_entry_and_field_and_exits_2_writing_nothing(tmp_path, capsys):
    import shutil

    bundle = tmp_path / "b"
    shutil.copytree(Path(__file__).resolve().parents[2] / "docs" / "examples" / "bundle", bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["images"][0]["seed"] = -1
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    before = sorted(p.name for p in bundle.rglob("*"))
    assert main(["validate", str(bundle)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "error: images[0].seed: must be an integer in [0, 2^63-1], got -1\n"
    assert sorted(p.name for p in bundle.rglob("*")) == before
