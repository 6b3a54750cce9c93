"""Write the drift corpus: small bundles and vote files, each valid or broken in one way.

``python tests/drift/make_corpus.py`` rewrites ``tests/drift/bundles/``, ``tests/drift/votes/``
and ``tests/drift/cases.json`` (the index: what each case is, and the verdict every reader
must give). ``tests/drift/test_drift_corpus.py`` runs each case through every reader of its
format -- generation, the platform's import and the analysis for bundles; the analysis'
CSV, JSON Lines and Parquet readers for votes -- so two readers that disagree fail a test.

A case's ``level`` says which rules decide it: ``manifest`` (every reader, the analysis
included, must give the verdict) or ``files`` (only readers that open the image files:
generation and the importer; the analysis needs only manifest.json and must accept it).
"""
from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
COLOURS = {"a": (200, 40, 40), "b": (40, 40, 200)}


def _png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _base() -> tuple[dict, dict[str, bytes]]:
    """A valid bundle: systems a and b, one prompt, seed 0, all pairs, sha256 given."""
    files = {f"images/{s}/p1_s0.png": _png(c) for s, c in COLOURS.items()}
    manifest = {
        "format": "qsched-bundle/1",
        "name": "drift",
        "systems": [{"id": "a", "label": "System A", "metrics": {"jaq": 0.5, "fid": 20.0}},
                    {"id": "b", "label": "System B", "metrics": {"jaq": 0.4, "fid": 25.0}}],
        "prompts": [{"id": "p1", "text": "a red fox asleep in fresh snow"}],
        "images": [{"system": s, "prompt": "p1", "seed": 0, "path": f"images/{s}/p1_s0.png",
                    "sha256": hashlib.sha256(files[f"images/{s}/p1_s0.png"]).hexdigest(),
                    "metrics": {"jaq": 0.6}} for s in COLOURS],
        "comparisons": "all-pairs",
    }
    return manifest, files


def _set(path: str, value):
    """An edit that sets ``manifest[...]`` at a dotted path (list indices as numbers)."""
    def edit(manifest, files):
        *parents, last = path.split(".")
        node = manifest
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value
    return edit


def _not_an_image(manifest, files):
    files["images/a/p1_s0.png"] = b"this is a text file, not a PNG"
    del manifest["images"][0]["sha256"]


def _gif_named_png(manifest, files):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "GIF")
    files["images/a/p1_s0.png"] = buffer.getvalue()
    del manifest["images"][0]["sha256"]


def _png_named_gif(manifest, files):
    files["images/a/p1_s0.gif"] = files.pop("images/a/p1_s0.png")
    manifest["images"][0]["path"] = "images/a/p1_s0.gif"


def _upper_sha(manifest, files):
    manifest["images"][0]["sha256"] = manifest["images"][0]["sha256"].upper()


def _wrong_sha(manifest, files):
    manifest["images"][1]["sha256"] = "0" * 64


def _one_system(manifest, files):
    manifest["systems"] = manifest["systems"][:1]
    manifest["images"] = manifest["images"][:1]
    del files["images/b/p1_s0.png"]


def _pair_twice(manifest, files):
    manifest["comparisons"] = [{"a": "a", "b": "b"}, {"a": "b", "b": "a"}]


def _listed_pairs(manifest, files):
    manifest["comparisons"] = [{"a": "b", "b": "a"}]


def _second_seed(manifest, files):
    for image in list(manifest["images"]):
        rel = image["path"].replace("_s0", "_s7")
        files[rel] = files[image["path"]]
        manifest["images"].append({**image, "seed": 7, "path": rel})


#: name -> (what it is, edit, verdict): verdict is None for a valid bundle, else
#: (level, entry, field, words of the message).
BUNDLE_CASES = {
    "valid": ("a small valid bundle", None, None),
    "valid-uppercase-sha256": ("issue 11: a sha256 in upper case (generation refused it, the importer accepted)",
                               _upper_sha, None),
    "valid-listed-pair-and-two-seeds": ("comparisons listed as b/a, two seeds", lambda m, f: (_listed_pairs(m, f),
                                                                                              _second_seed(m, f)), None),
    "seed-negative": ("issue 11: seed -1 (generation accepted it)", _set("images.0.seed", -1),
                      ("manifest", "images[0]", "seed", "must be an integer in [0, 2^63-1], got -1")),
    "pair-given-twice": ("issue 11: the pair a/b given again as b/a (generation accepted it)", _pair_twice,
                         ("manifest", "comparisons[1]", "b", "duplicate pair 'b' / 'a'")),
    "png-not-an-image": ("issue 11: a .png that is not an image (generation accepted it)", _not_an_image,
                         ("files", "images[0]", "path", "is not a readable PNG, JPEG or WebP image")),
    "name-not-a-string": ("issue 11: name = 7 (generation accepted it)", _set("name", 7),
                          ("manifest", "manifest", "name", "must be a string of at most 200 characters, got 7")),
    "metric-a-string": ("issue 11: a metric that is a string (generation accepted it)",
                        _set("systems.0.metrics.jaq", "0.5"),
                        ("manifest", "systems[0]", "metrics", "metric 'jaq' must be a finite number or null")),
    "one-system": ("a bundle with one system (generation wrote such bundles, the importer refused them)",
                   _one_system, ("manifest", "manifest", "systems", "needs at least 2 systems")),
    "id-with-newline": ("an id ending in a newline (both old validators let a trailing newline through)",
                        lambda m, f: (_set("prompts.0.id", "p1\n")(m, f), _set("images.0.prompt", "p1\n")(m, f),
                                      _set("images.1.prompt", "p1\n")(m, f)),
                        ("manifest", "prompts[0]", "id", "is not a valid id")),
    "gif-named-png": ("a GIF saved under a .png name", _gif_named_png,
                      ("files", "images[0]", "path", "is GIF; only PNG, JPEG and WebP are supported")),
    "png-named-gif": ("a PNG under a .gif name (generation refused it, the importer accepted it)", _png_named_gif,
                      ("files", "images[0]", "path", "is not a PNG, JPEG or WebP file")),
    "sha256-mismatch": ("a sha256 that is not the file's", _wrong_sha,
                        ("files", "images[1]", "sha256", "does not match the file")),
    "path-leaves-bundle": ("a path with '..'", _set("images.0.path", "../p1_s0.png"),
                           ("manifest", "images[0]", "path", "'..' leaves the bundle")),
    "unknown-prompt": ("an image of a prompt that is not listed", _set("images.1.prompt", "p9"),
                       ("manifest", "images[1]", "prompt", "unknown prompt id 'p9'")),
    "wrong-format": ("another format id", _set("format", "qsched-bundle/2"),
                     ("manifest", "manifest", "format", "unsupported format 'qsched-bundle/2'")),
}

HEADER = ["vote_id", "study", "criterion", "annotator", "prompt", "seed", "system_left", "system_right", "choice",
          "winner", "response_ms", "created_at", "attention_check", "annotator_excluded"]


def _votes() -> list[dict]:
    rows = []
    for i in range(6):
        left, right = ("a", "b") if i % 2 == 0 else ("b", "a")
        choice = ("left", "right", "tie")[i % 3]
        rows.append({"vote_id": f"v{i}", "study": "drift", "criterion": "overall", "annotator": f"ann{i % 3}",
                     "prompt": "p1", "seed": "0", "system_left": left, "system_right": right, "choice": choice,
                     "winner": {"left": left, "right": right, "tie": "tie"}[choice], "response_ms": str(900 + i),
                     "created_at": f"2026-01-0{i + 1}T10:00:00+00:00", "attention_check": "false",
                     "annotator_excluded": "false"})
    return rows


def _vote_edit(index: int, **changes):
    def edit(rows, header):
        rows[index].update(changes)
    return edit


def _drop_column(name: str):
    def edit(rows, header):
        header.remove(name)
        for row in rows:
            del row[name]
    return edit


def _spreadsheet_cells(rows, header):
    rows[0].update(system_left=" a", system_right="b ", winner=" a ")  # spaces a spreadsheet adds
    rows[1].update(annotator="'=HYPERLINK(\"http://x\")")  # as formats.votes.csv_safe writes =HYPERLINK(...)
    header.insert(0, BOM)


BOM = "\ufeff"

#: name -> (what it is, edit, verdict): None for valid, else words of the message.
VOTE_CASES = {
    "valid": ("six votes, ties included", None, None),
    "unknown-choice": ("a choice that is not left, right or tie", _vote_edit(2, choice="maybe"),
                       "unknown choice value(s) 'maybe'"),
    "winner-contradicts-choice": ("a winner that is not the chosen side", _vote_edit(0, winner="b"),
                                  "winner contradicts choice"),
    "missing-column": ("no annotator_excluded column", _drop_column("annotator_excluded"),
                       "missing column(s) annotator_excluded"),
    "same-system-twice": ("system_left equals system_right", _vote_edit(1, system_left="a", system_right="a",
                                                                        winner="a"),
                          "system_left equals system_right"),
    "seed-not-an-integer": ("a seed of 1.5 (the JSON Lines reader truncated it to 1)", _vote_edit(4, seed="1.5"),
                            "column seed must be an integer, bad value at row(s) 6"),
    "duplicate-vote-id": ("a vote_id given twice (the vote would count twice)", _vote_edit(3, vote_id="v1"),
                          "duplicated vote_id 'v1'"),
    "prompt-not-an-id": ("a prompt id with a space", _vote_edit(2, prompt="p 1"), "column prompt has id 'p 1'"),
    "valid-spreadsheet-cells": (("valid: a byte-order mark, spaces around ids, a crowd id that looks like a formula "
                                 "(written with a leading ')"), _spreadsheet_cells, None),
    "bad-boolean": ("attention_check that is neither true nor false", _vote_edit(3, attention_check="perhaps"),
                    "must be true/false"),
}


def write_corpus(root: Path = HERE) -> list[dict]:
    """Write every case under ``root`` and return the index (also written to ``cases.json``)."""
    index = []
    for folder in ("bundles", "votes"):
        shutil.rmtree(root / folder, ignore_errors=True)
    for name, (what, edit, verdict) in BUNDLE_CASES.items():
        manifest, files = _base()
        manifest, files = copy.deepcopy(manifest), dict(files)
        if edit is not None:
            edit(manifest, files)
        case_dir = root / "bundles" / name
        for rel, data in files.items():
            (case_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (case_dir / rel).write_bytes(data)
        (case_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        entry = {"kind": "bundle", "name": name, "path": f"bundles/{name}", "what": what, "valid": verdict is None}
        if verdict is not None:
            entry.update(zip(("level", "entry", "field", "words"), verdict))
        index.append(entry)
    (root / "votes").mkdir(parents=True)
    for name, (what, edit, words) in VOTE_CASES.items():
        rows, header = _votes(), list(HEADER)
        if edit is not None:
            edit(rows, header)
        with open(root / "votes" / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            if header[0] == BOM:
                fh.write(header.pop(0))
            writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        entry = {"kind": "votes", "name": name, "path": f"votes/{name}.csv", "what": what, "valid": words is None}
        if words is not None:
            entry["words"] = words
        index.append(entry)
    (root / "cases.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    return index


if __name__ == "__main__":
    cases = write_corpus()
    print(f"wrote {len(cases)} cases under {HERE}")
