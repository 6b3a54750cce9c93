"""The examples in docs/examples/ (shown in docs/formats.md) are valid and agree with the code.

They were produced by docs/examples/make_examples.py; if a format changes on purpose, rerun it.
The formats themselves are defined in ``formats/``; the document's tables, excerpts and error
examples are checked against those modules here.
"""
import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from studies.bundle import load_bundle
from studies.export import VOTE_COLUMNS as EXPORTED_COLUMNS
from studies.services import create_study_from_bundle

from analysis.io import read_bundle, read_bundle_metrics, read_votes
from analysis.report import build_summary
from formats import bundle as bundle_format
from formats.report import REPORT_FORMAT
from formats.votes import VOTE_COLUMNS, winner_of
from generation.manifest import validate_bundle

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = DOCS / "examples"
BUNDLE = EXAMPLES / "bundle"


def _doc() -> str:
    return (DOCS / "formats.md").read_text(encoding="utf-8")


def _section(number: int) -> str:
    doc = _doc()
    start = doc.index(f"## {number}.")
    end = doc.index(f"## {number + 1}.", start)
    return doc[start:end]


def _documented_vote_fields() -> list[str]:
    """The field names in the table of section 2, in their order (a row may name two fields)."""
    fields = []
    for line in _section(2).splitlines():
        if line.startswith("| `"):
            fields += re.findall(r"`([a-z_]+)`", line.split("|")[1])
    return fields


def _manifest() -> dict:
    return json.loads((BUNDLE / "manifest.json").read_text(encoding="utf-8"))


def _summary() -> dict:
    return json.loads((EXAMPLES / "summary.json").read_text(encoding="utf-8"))


def _close(x, y, rel=1e-9) -> bool:
    if x is None or y is None:
        return x is y
    return math.isclose(x, y, rel_tol=rel, abs_tol=1e-12)


def _contract_view(summary: dict) -> dict:
    """The fields contract section 3 names, floats rounded to 10 significant digits."""
    def r(x):
        return None if x is None else float(f"{x:.10g}")

    view = {k: summary[k] for k in ("format", "n_votes", "n_annotators")}
    for criterion, res in summary["by_criterion"].items():
        view[criterion] = {
            "systems": res["systems"],
            "win_rates": [(w["a"], w["b"], w["wins"], w["losses"], w["ties"], r(w["win_rate"]),
                           [r(x) for x in w["ci95"]], r(w["p_value"])) for w in res["win_rates"]],
            "bradley_terry": [(b["system"], r(b["score"]), [r(x) for x in b["ci95"]], r(b["elo"]))
                              for b in res["bradley_terry"]],
            "agreement": {k: r(res["agreement"][k]) for k in
                          ("krippendorff_alpha", "fleiss_kappa", "percent_agreement", "n_items")},
            "position_bias": {k: r(res["position_bias"][k]) for k in ("left_rate", "p_value")},
        }
    return view


# -- section 1: bundle ------------------------------------------------------------------------

def test_the_example_bundle_passes_the_platform_validation():
    spec = load_bundle(BUNDLE)
    assert [s.key for s in spec.systems] == ["w4a8", "w4a8-qsched"]
    assert [p.key for p in spec.prompts] == ["p0001", "p0002"]
    assert len(spec.images) == 4 and {i.suffix for i in spec.images} == {".png"}
    assert spec.pairs == [("w4a8-qsched", "w4a8")]
    assert sorted((c.prompt, c.seed) for c in spec.comparisons) == [("p0001", 0), ("p0002", 0)]
    # Every image entry carries a sha256, and load_bundle checked it against the file.
    assert all(entry["sha256"] for entry in _manifest()["images"])


def test_the_example_bundle_passes_every_reader():
    systems = ["w4a8", "w4a8-qsched"]
    assert [s["id"] for s in validate_bundle(BUNDLE)["systems"]] == systems
    assert [s.key for s in bundle_format.load_bundle(BUNDLE).systems] == systems
    assert [s.key for s in read_bundle(BUNDLE).systems] == systems


def test_the_manifest_excerpt_quotes_the_example_manifest():
    (excerpt,) = re.findall(r"```json\n(.*?)```", _section(1), flags=re.DOTALL)
    shown, example = json.loads(excerpt), _manifest()
    assert shown["format"] == bundle_format.BUNDLE_FORMAT == example["format"]
    for key in ("name", "prompts", "comparisons"):
        assert shown[key] == example[key], key
    for key in ("systems", "images"):
        for entry in shown[key]:
            assert entry in example[key], entry


#: The edit of the example bundle that each documented error message comes from.
ERROR_EXAMPLES = {
    "images[1].sha256": lambda m: m["images"][1].update(sha256="0" * 64),
    "images[2].path": lambda m: m["images"][2].update(path="../x.png"),
    "images[0].system": lambda m: m["images"][0].update(system="fp16"),
    "prompts[0].id": lambda m: m["prompts"][0].update(id="p 1"),
    "comparisons[1].b": lambda m: m.update(comparisons=[{"a": "w4a8-qsched", "b": "w4a8"},
                                                        {"a": "w4a8", "b": "w4a8-qsched"}]),
}


def _documented_errors() -> list[str]:
    section = _section(1)
    start = section.index("The error names the entry and the field, for example:")
    block = re.search(r"```\n(.*?)```", section[start:], flags=re.DOTALL).group(1)
    return block.splitlines()


@pytest.mark.parametrize("line", _documented_errors())
def test_each_documented_error_is_what_the_validator_says(line, tmp_path):
    where = line.split(": ", 1)[0]
    root = tmp_path / "bundle"
    shutil.copytree(BUNDLE, root)
    manifest = _manifest()
    ERROR_EXAMPLES[where](manifest)
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(bundle_format.BundleError) as info:
        bundle_format.load_bundle(root)
    pattern = ".*".join(re.escape(part) for part in line.split("..."))  # "..." in the document shortens a hash
    assert re.fullmatch(pattern, str(info.value)), str(info.value)


def test_the_example_bundle_imports_as_a_study(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    owner = get_user_model().objects.create(username="docs-owner")
    study = create_study_from_bundle(bundle_dir=BUNDLE, slug="fox-demo", owner=owner,
                                     criteria=["overall", "alignment"], votes_per_pair=4)
    assert (study.systems.count(), study.prompts.count(), study.images.count()) == (2, 2, 4)
    assert study.comparisons.count() == 2 and study.work_items.count() == 4
    stored = [Path(image.file.path) for image in study.images.all()]
    assert all(p.is_file() and p.is_relative_to(tmp_path / "media") for p in stored)


# -- section 2: votes export ------------------------------------------------------------------

def test_the_example_votes_have_the_contract_columns_in_export_order():
    header = (EXAMPLES / "votes.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == _documented_vote_fields() == list(VOTE_COLUMNS) == list(EXPORTED_COLUMNS)
    first = json.loads((EXAMPLES / "votes.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == list(VOTE_COLUMNS)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The values only: read_votes orders categories by first appearance for CSV but sorted for
    JSON Lines, and marks missing strings as <NA> vs NaN, which changes no value."""
    return frame.astype({c: object for c in frame.columns
                         if isinstance(frame[c].dtype, (pd.CategoricalDtype, pd.StringDtype))})


def test_csv_and_jsonl_examples_read_to_the_same_votes():
    from_csv = read_votes(EXAMPLES / "votes.csv")
    from_jsonl = read_votes(EXAMPLES / "votes.jsonl")
    assert len(from_csv) == 16
    assert [type(t) for t in from_csv.dtypes] == [type(t) for t in from_jsonl.dtypes]
    pd.testing.assert_frame_equal(_plain(from_csv), _plain(from_jsonl))
    as_csv = build_summary(from_csv, n_bootstrap=50, seed=3)
    as_jsonl = build_summary(from_jsonl, n_bootstrap=50, seed=3)
    assert _contract_view(as_csv) == _contract_view(as_jsonl)


def test_the_example_votes_refer_to_the_example_bundle():
    votes = pd.read_csv(EXAMPLES / "votes.csv", dtype=str, keep_default_na=False)
    images = {(i["system"], i["prompt"], str(i["seed"])) for i in _manifest()["images"]}
    for side in ("system_left", "system_right"):
        assert set(zip(votes[side], votes["prompt"], votes["seed"])) <= images
    winner = votes.apply(lambda r: winner_of(r.choice, r.system_left, r.system_right), axis=1)
    assert (votes["winner"] == winner).all()
    assert votes["vote_id"].is_unique
    assert votes["created_at"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)$").all()


# -- section 3: analysis summary --------------------------------------------------------------

def test_the_example_summary_has_the_contract_keys():
    summary = _summary()
    assert summary["format"] == REPORT_FORMAT == "qsched-analysis/1"
    assert {"n_votes", "n_annotators", "by_criterion"} <= set(summary)
    for result in summary["by_criterion"].values():
        assert {"systems", "win_rates", "bradley_terry", "agreement", "position_bias", "correlation"} <= set(result)
        for row in result["win_rates"]:
            assert {"a", "b", "wins", "losses", "ties", "win_rate", "ci95", "p_value"} <= set(row)
        for row in result["bradley_terry"]:
            assert {"system", "score", "ci95", "elo"} <= set(row)
        assert {"krippendorff_alpha", "fleiss_kappa", "percent_agreement", "n_items"} <= set(result["agreement"])
        assert {"left_rate", "p_value"} <= set(result["position_bias"])
        for row in result["correlation"]:
            assert {"metric", "level", "n"} <= set(row)


def test_the_example_summary_follows_the_documented_definitions():
    """Win rate and two-system Bradley-Terry scores recomputed by hand from votes.csv."""
    votes = pd.read_csv(EXAMPLES / "votes.csv", dtype=str, keep_default_na=False)
    counted = votes[(votes["attention_check"] == "false") & (votes["annotator_excluded"] == "false")]
    summary = _summary()
    assert summary["n_votes"] == len(votes) and summary["n_annotators"] == votes["annotator"].nunique()
    for criterion, result in summary["by_criterion"].items():
        these = counted[counted["criterion"] == criterion]
        (row,) = result["win_rates"]
        wins = int((these["winner"] == row["a"]).sum())
        losses = int((these["winner"] == row["b"]).sum())
        ties = int((these["winner"] == "tie").sum())
        assert (row["wins"], row["losses"], row["ties"]) == (wins, losses, ties)
        assert _close(row["win_rate"], (wins + ties / 2) / (wins + losses + ties))
        assert row["ci95"][0] <= row["win_rate"] <= row["ci95"][1]
        # Two systems: ties count half to each side, scores are centred on zero.
        half_gap = math.log((wins + ties / 2) / (losses + ties / 2)) / 2
        scores = {r["system"]: r for r in result["bradley_terry"]}
        assert _close(scores[row["a"]]["score"], half_gap, rel=1e-6)
        assert _close(scores[row["b"]]["score"], -half_gap, rel=1e-6)
        for r in scores.values():
            assert _close(r["elo"], 1000 + 400 * r["score"] / math.log(10))
        # Agreement items: (prompt, seed, pair, criterion) with two or more counted votes.
        per_item = these.groupby(["prompt", "seed"]).size()
        assert result["agreement"]["n_items"] == int((per_item >= 2).sum())


def test_the_example_summary_is_what_the_analysis_computes_now():
    stored = _summary()
    metrics, image_metrics = read_bundle_metrics(BUNDLE)
    pairs = [(c["a"], c["b"]) for c in _manifest()["comparisons"]]
    settings = stored["settings"]
    now = build_summary(read_votes(EXAMPLES / "votes.csv"), metrics=metrics, image_metrics=image_metrics,
                        comparisons=pairs, n_bootstrap=settings["n_bootstrap"], seed=settings["seed"],
                        bootstrap=settings["bootstrap"])
    # Seeded bootstrap: the same draws, so the intervals are compared too.
    assert _contract_view(now) == _contract_view(stored)
    assert [(r["metric"], r["level"], r["n"]) for c in now["by_criterion"].values() for r in c["correlation"]] == \
           [(r["metric"], r["level"], r["n"]) for c in stored["by_criterion"].values() for r in c["correlation"]]


# -- section 4: annotator API transcript ------------------------------------------------------

def _transcript() -> list[dict]:
    return json.loads((EXAMPLES / "annotator_api_transcript.json").read_text(encoding="utf-8"))


def _section(number: int) -> str:
    doc = (DOCS / "formats.md").read_text(encoding="utf-8")
    start = doc.index(f"\n## {number}.")
    end = doc.find("\n## ", start + 1)
    return doc[start:] if end < 0 else doc[start:end]


def test_the_api_transcript_never_names_a_system_to_the_annotator():
    transcript = _transcript()
    assert [(e["method"], e["status"]) for e in transcript[:2]] == [("POST", 201), ("GET", 200)]
    assert transcript[-2]["status"] == 204 and transcript[-1]["status"] == 200
    text = json.dumps([e["response"] for e in transcript])
    for system in _manifest()["systems"]:
        assert system["id"] not in text
    assert "images/" not in text.replace("/api/images/", "")  # no bundle path or file name


def test_the_api_transcript_shows_the_documented_image_and_refusal_rules():
    transcript = _transcript()
    images = [e for e in transcript if e["url"].startswith("/api/images/")]
    # The same link: a PNG with the session's header, a 404 without it.
    assert [(e["auth"], e["status"], e["content_type"]) for e in images] == [
        (True, 200, "image/png"), (False, 404, "text/html")]
    assert images[0]["url"] == transcript[1]["response"]["left"]["url"]
    codes = [e["response"]["code"] for e in transcript if e["status"] >= 400 and e["response"]]
    assert codes == ["too_fast", "too_many_open_tasks", "invalid"]
    assert transcript[-1]["response"]["outcome"] == "completed"
    assert transcript[0]["response"]["title"] == "Image comparison study"


def _quoted_responses(section: str) -> list[tuple[int, dict]]:
    """(status, JSON body) of every '# <status>' line in a bash block followed by a JSON body."""
    quoted = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for match in re.finditer(r"^# (\d{3})[^\n]*\n(\{.*?)(?=^curl |^# \d{3}|\Z)", block,
                                 flags=re.DOTALL | re.MULTILINE):
            quoted.append((int(match.group(1)), json.loads(match.group(2))))
    return quoted


def test_formats_md_section_4_quotes_the_transcript_verbatim():
    recorded = [(e["status"], e["response"]) for e in _transcript()]
    quoted = _quoted_responses(_section(4))
    assert len(quoted) >= 6
    for status, body in quoted:
        assert (status, body) in recorded, f"docs/formats.md section 4 quotes a response not recorded: {body}"


def _codes_the_api_sends() -> set[tuple[int, str]]:
    """(status, code) of every refusal the annotator API can answer with, read from the code."""
    from annotate import errors
    from qsched_platform import api_errors, middleware
    from rest_framework import exceptions

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    assert errors.NotAuthenticated in set(subclasses(errors.AnnotateError))  # 401: no or unknown token
    sent = {(cls.status, cls.code) for cls in subclasses(errors.AnnotateError)}
    sent.add((api_errors._TooLarge.status_code, api_errors._TooLarge.default_code))
    busy = middleware.busy_response("x")
    sent.add((busy.status_code, json.loads(busy.content)["code"]))
    # DRF's own refusals on these views: bad JSON, wrong method, wrong media type, throttling.
    for exc in (exceptions.ParseError, exceptions.MethodNotAllowed, exceptions.UnsupportedMediaType,
                exceptions.Throttled):
        sent.add((exc.status_code, exc.default_code))
    return sent


def test_the_refusal_table_in_section_4_lists_exactly_the_codes_the_api_sends():
    rows = re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", _section(4), flags=re.MULTILINE)
    documented = {(int(status), code) for status, code in rows}
    assert len(rows) == len(documented), "a (status, code) row appears twice"
    assert documented == _codes_the_api_sends()


def test_section_5_names_every_annotator_api_setting():
    from django.conf import settings as django_settings

    section = _section(5)
    names = ["QSCHED_RATE_LIMITS", "QSCHED_TRUSTED_PROXIES", "QSCHED_MIN_RESPONSE_MS", "QSCHED_IMAGE_LINK_GRACE_S",
             "QSCHED_RATE_SESSIONS_PER_IP", "QSCHED_RATE_SESSIONS_PER_CROWD_ID", "QSCHED_RATE_CALLS_PER_IP",
             "QSCHED_RATE_CALLS_PER_SESSION"]
    for name in names[:4]:
        assert hasattr(django_settings, name)
    for name in names:
        assert f"`{name}`" in section


# -- the document itself ----------------------------------------------------------------------

def test_formats_md_quotes_the_examples_verbatim():
    doc = _doc()
    for lang, name in (("csv", "votes.csv"), ("jsonl", "votes.jsonl")):
        lines = set((EXAMPLES / name).read_text(encoding="utf-8").splitlines())
        blocks = re.findall(rf"```{lang}\n(.*?)```", doc, flags=re.DOTALL)
        assert blocks, f"no {lang} excerpt in docs/formats.md"
        for block in blocks:
            for line in block.splitlines():
                assert line in lines, f"docs/formats.md quotes a {name} line that is not in the example: {line}"
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
        assert section in doc


def test_the_drf_refusals_in_the_table_come_back_with_their_documented_codes(db, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    owner = get_user_model().objects.create(username="docs-owner")
    create_study_from_bundle(bundle_dir=BUNDLE, slug="fox-demo", owner=owner, criteria=["overall"],
                             votes_per_pair=1, launch=True)
    wrong_method = client.get("/api/studies/fox-demo/sessions")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")
    not_json = client.post("/api/studies/fox-demo/sessions", "{", content_type="application/json")
    assert (not_json.status_code, not_json.json()["code"]) == (400, "parse_error")
    as_text = client.post("/api/studies/fox-demo/sessions", "hello", content_type="text/plain")
    assert (as_text.status_code, as_text.json()["code"]) == (415, "unsupported_media_type")
    missing = client.post("/api/studies/no-such-study/sessions", {}, content_type="application/json")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
