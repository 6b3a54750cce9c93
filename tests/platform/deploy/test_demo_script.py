"""The demo's script: `make demo` wiring."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_make_demo_runs_the_demo_script_which_is_valid_bash():
    assert "scripts/demo.sh" in (ROOT / "Makefile").read_text()
    script = ROOT / "scripts" / "demo.sh"
    assert os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True)
