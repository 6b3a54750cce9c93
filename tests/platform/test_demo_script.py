"""The demo's scripts: `make demo` wiring and the drawn demo bundle."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.make_demo_bundle import build_demo_bundle
from studies.bundle import load_bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    """The bundle as the command line draws it."""
    out = tmp_path_factory.mktemp("demo") / "bundle"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_bundle.py"), "--out", str(out)],
                   check=True, capture_output=True)
    return out


def manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


def test_make_demo_runs_the_demo_script_which_is_valid_bash():
    assert "scripts/demo.sh" in (ROOT / "Makefile").read_text()
    script = ROOT / "scripts" / "demo.sh"
    assert os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_the_drawn_bundle_is_valid_and_labelled_as_a_stand_in(drawn):
    spec = load_bundle(drawn)
    assert len(spec.images) == 8 * 3 * 2
    assert all("drawn stand-in" in system["label"] for system in manifest(drawn)["systems"])


def test_drawing_again_gives_the_same_pictures(drawn, tmp_path):
    assert manifest(build_demo_bundle(tmp_path / "again")) == manifest(drawn)


def test_the_three_systems_differ_on_every_prompt_and_seed(drawn):
    shas: dict[tuple, set] = {}
    for image in manifest(drawn)["images"]:
        shas.setdefault((image["prompt"], image["seed"]), set()).add(image["sha256"])
    assert len(shas) == 16 and all(len(found) == 3 for found in shas.values())
