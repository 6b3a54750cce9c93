"""Build small, valid study bundles (contract section 1) on disk for tests."""
import hashlib
import json
from pathlib import Path

from PIL import Image as PILImage

COLOURS = {"fp16": (200, 40, 40), "w4a8": (40, 200, 40), "w4a8-qsched": (40, 40, 200)}


def write_bundle(
    root: Path,
    *,
    systems=("fp16", "w4a8", "w4a8-qsched"),
    n_prompts: int = 3,
    seeds=(0,),
    comparisons="all-pairs",
    with_sha: bool = True,
) -> Path:
    """Write a bundle into ``root`` and return it. Every (system, prompt, seed) gets a PNG."""
    root.mkdir(parents=True, exist_ok=True)
    prompts = [{"id": f"p{i:04d}", "text": f"prompt number {i} <b>bold</b>"} for i in range(n_prompts)]
    images = []
    for system in systems:
        (root / "images" / system).mkdir(parents=True, exist_ok=True)
        for p_index, prompt in enumerate(prompts):
            for seed in seeds:
                rel = f"images/{system}/{prompt['id']}_s{seed}.png"
                colour = COLOURS.get(system, (120, 120, 120))
                tint = tuple((c + 17 * p_index + 5 * seed) % 256 for c in colour)
                PILImage.new("RGB", (16, 16), tint).save(root / rel)
                entry = {"system": system, "prompt": prompt["id"], "seed": seed, "path": rel,
                         "metrics": {"jaq": 0.5 + 0.01 * p_index}}
                if with_sha:
                    entry["sha256"] = hashlib.sha256((root / rel).read_bytes()).hexdigest()
                images.append(entry)
    manifest = {
        "format": "qsched-bundle/1",
        "name": "test-bundle",
        "systems": [{"id": s, "label": s.upper(), "metrics": {"jaq": 0.5, "fid": 20.0}, "config": {}}
                    for s in systems],
        "prompts": prompts,
        "images": images,
        "comparisons": comparisons,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root


def edit_manifest(root: Path, change) -> None:
    """Load manifest.json, let ``change(manifest)`` edit it in place, write it back."""
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2))
