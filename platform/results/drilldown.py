"""What the per-prompt drill-down page shows: read from the report's summary.json, images from the study.

The page is for researchers only (see ``results.views.prompt_drilldown``); images are linked through
``results:researcher_image``, never through the annotators' opaque image links.
"""
from __future__ import annotations

import json

from studies.models import Image

from .questions import analysis_question
from .services import report_file

#: Seeds shown per prompt (side by side, one row each).
SEEDS_SHOWN = 2


def _summary(study) -> dict | None:
    path = report_file(study, "summary.json")
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _images(study, a: str, b: str, prompt_keys: list[str]) -> dict:
    """``{prompt: [(seed, image_a, image_b)]}`` for the seeds where both systems have an image."""
    rows = (Image.objects.filter(study=study, system__key__in=(a, b), prompt__key__in=prompt_keys)
            .select_related("system", "prompt").order_by("prompt__key", "seed"))
    by = {}
    for image in rows:
        by.setdefault((image.prompt.key, image.seed), {})[image.system.key] = image
    out: dict = {}
    for (prompt, seed), pair in by.items():
        if a in pair and b in pair and len(out.get(prompt, [])) < SEEDS_SHOWN:
            out.setdefault(prompt, []).append((seed, pair[a], pair[b]))
    return out


def drilldown_context(study, criterion: str | None, a: str | None, b: str | None) -> dict:
    """Template context: the chosen criterion and pair, every pair to choose from, and the prompt rows."""
    summary = _summary(study)
    if summary is None or not summary.get("by_criterion"):
        return {"missing": "No report yet: refresh the results first."}
    question = analysis_question(study) or {}
    criteria = list(summary["by_criterion"])
    criterion = criterion if criterion in criteria else (question.get("criterion") if question.get("criterion")
                                                         in criteria else criteria[0])
    drill = summary["by_criterion"][criterion].get("prompt_drilldown") or {}
    pairs = drill.get("by_pair", [])
    if not pairs:
        return {"criteria": criteria, "criterion": criterion, "missing": "No compared pair on this criterion yet."}
    a = a or question.get("a")
    b = b or question.get("b")
    chosen, flipped = None, False
    for p in pairs:
        if (p["a"], p["b"]) == (a, b):
            chosen = p
        elif (p["a"], p["b"]) == (b, a):
            chosen, flipped = p, True
    if chosen is None:
        chosen = pairs[0]
    wins, losses = chosen["wins_most"], chosen["loses_most"]
    sys_a, sys_b = chosen["a"], chosen["b"]
    if flipped:
        sys_a, sys_b = sys_b, sys_a
        wins, losses = [_mirror(r) for r in losses], [_mirror(r) for r in wins]
    prompts = {p.key: p.text for p in study.prompts.filter(key__in=[r["prompt"] for r in wins + losses])}
    images = _images(study, sys_a, sys_b, list(prompts))

    def rows(items):
        return [{**r, "text": prompts.get(r["prompt"], ""), "images": images.get(r["prompt"], [])} for r in items]

    return {"criteria": criteria, "criterion": criterion, "pairs": pairs, "a": sys_a, "b": sys_b,
            "wins_most": rows(wins), "loses_most": rows(losses), "rule": drill.get("rule", "")}


def _mirror(row: dict) -> dict:
    return {**row, "wins": row["losses"], "losses": row["wins"], "win_rate": 1.0 - row["win_rate"]}
