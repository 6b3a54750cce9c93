"""The demo's scripts: `make demo` wiring and the drawn demo bundle."""
import json
import os
import subprocess
import sys
from pathlib import Path

from studies.bundle import load_bundle

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_runs_the_demo_script_which_is_valid_bash():
    assert "scripts/demo.sh" in (ROOT / "Makefile").read_text()
    script = ROOT / "scripts" / "demo.sh"
    assert os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_the_drawn_bundle_is_valid_deterministic_and_labelled_as_a_stand_in(tmp_path):
    for name in ("one", "two"):
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_bundle.py"), "--out", str(tmp_path / name)],
                       check=True, capture_output=True)
    first, second = (json.loads((tmp_path / n / "manifest.json").read_text()) for n in ("one", "two"))
    assert first == second  # same pictures, same sha256, every time
    spec = load_bundle(tmp_path / "one")
    assert len(spec.images) == 8 * 3 * 2
    assert all("drawn stand-in" in system["label"] for system in first["systems"])


def test_the_systems_differ_on_the_same_prompt_and_seed(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_bundle.py"), "--out", str(tmp_path / "b")],
                   check=True, capture_output=True)
    shas = {(i["prompt"], i["seed"]): set() for i in json.loads((tmp_path / "b" / "manifest.json").read_text())["images"]}
    for image in json.loads((tmp_path / "b" / "manifest.json").read_text())["images"]:
        shas[(image["prompt"], image["seed"])].add(image["sha256"])
    assert all(len(found) == 3 for found in shas.values())
