"""A simulated crowd that votes through the platform's annotator API, to close the loop.

Rules:

* **Known signal.** Every image's utility is the world scorer's CLIPScore of the
  image against its own prompt (``100 * cos``). The known ordering of systems is
  the ordering of their mean utility over the bundle's images.
* **Annotators see only what a person sees.** A simulated annotator gets a task
  from ``GET /api/session/next``, downloads both images through their opaque
  URLs (with its session token, as the voting page does) and scores the pixels it received (the scorer, cached by the bytes'
  sha256); it never learns which system made an image.
* **Choice model** (Davidson, with heterogeneity): with ``d = s * (u_left -
  u_right) + b``, ``P(left) : P(right) : P(tie) = e^{d/2} : e^{-d/2} : nu``,
  where each annotator draws a sharpness ``s`` (log-normal around
  ``sharpness``), a position bias ``b`` and a tie propensity ``nu``; a share
  ``random_rate`` of annotators click left or right at random.
* **Votes go through the real API** (``POST /api/studies/<slug>/sessions``,
  ``GET /api/session/next``, the image URLs, ``POST /api/assignments/<id>/vote``)
  with any client offering ``request(method, path, json=None, token=None) ->
  (status, body)``: :class:`HttpClient` for a live server, or Django's test client
  wrapped by :class:`DjangoClient`. One process (one IP) plays the whole crowd, so the
  platform's per-IP abuse limits must be off (``QSCHED_RATE_LIMITS=off``), as for any load test.
* **Recovery** is judged on the platform's export, in vote order: after the first
  ``n`` counted votes the analysis (:func:`analysis.report.build_summary`)
  recovers the ordering when its Bradley-Terry order equals the known one and
  every adjacent pair's win rate is significant (p < 0.05) in the right direction,
  by the analysis's default test, which a researcher reads (clustered by annotator
  and prompt, t on annotators - 1 degrees of freedom); ``recovered_sign_test`` is
  the same with the exact sign test, which assumes independent votes, as the power
  calculator does. The power calculator (:func:`analysis.power.votes_needed`)
  gets each adjacent pair's expected win and tie rates under the same choice
  model; its prediction for the study is the largest per-pair count times the
  number of compared pairs (votes are spread evenly over pairs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
from pathlib import Path

import numpy as np

__all__ = ["Annotator", "make_crowd", "choice_probabilities", "GroundTruth", "ground_truth", "image_utility", "HttpClient",
           "DjangoClient", "run_crowd", "recovery_curve", "predicted_votes", "build_contrast_bundle"]


# ------------------------------------------------------------------ annotators
@dataclasses.dataclass(frozen=True)
class Annotator:
    """One simulated annotator's parameters (see the module docstring)."""

    sharpness: float
    position_bias: float = 0.0
    tie_propensity: float = 0.1
    random_clicker: bool = False


def make_crowd(n: int, rng: np.random.Generator, *, sharpness: float = 0.5, heterogeneity: float = 0.5,
               position_bias_sd: float = 0.2, tie_propensity: float = 0.1, random_rate: float = 0.05) -> list[Annotator]:
    """``n`` annotators: sharpness log-normal(log(sharpness), heterogeneity), bias ~ N(0, sd), some random clickers."""
    if n < 1 or sharpness <= 0 or heterogeneity < 0 or not 0 <= random_rate <= 1 or tie_propensity < 0:
        raise ValueError("make_crowd needs n >= 1, sharpness > 0, heterogeneity >= 0, tie_propensity >= 0 "
                         f"and 0 <= random_rate <= 1 (got n={n}, sharpness={sharpness}, "
                         f"heterogeneity={heterogeneity}, tie_propensity={tie_propensity}, random_rate={random_rate})")
    return [Annotator(sharpness=float(sharpness * math.exp(heterogeneity * rng.standard_normal())),
                      position_bias=float(position_bias_sd * rng.standard_normal()),
                      tie_propensity=float(tie_propensity), random_clicker=bool(rng.random() < random_rate))
            for _ in range(n)]


def choice_probabilities(a: Annotator, u_left: float, u_right: float) -> tuple[float, float, float]:
    """``(P(left), P(right), P(tie))`` for one task."""
    if a.random_clicker:
        return 0.5, 0.5, 0.0
    d = a.sharpness * (u_left - u_right) + a.position_bias
    wl, wr = math.exp(d / 2), math.exp(-d / 2)
    z = wl + wr + a.tie_propensity
    return wl / z, wr / z, a.tie_propensity / z


def _choose(a: Annotator, u_left: float, u_right: float, rng: np.random.Generator) -> str:
    pl, pr, _ = choice_probabilities(a, u_left, u_right)
    r = rng.random()
    return "left" if r < pl else ("right" if r < pl + pr else "tie")


# ---------------------------------------------------------------- ground truth
@dataclasses.dataclass
class GroundTruth:
    """The known signal of a bundle: utility per image and per system.

    ``utility_by_sha`` is keyed by ``(sha256 of the image bytes, prompt text)``: the
    same picture can serve two prompts (a system may draw one prompt's picture for
    another), and its utility depends on the prompt it is judged against.
    """

    utility_by_sha: dict[tuple[str, str], float]
    utility_by_image: dict[tuple[str, str, int], float]  # (system, prompt id, seed) -> utility
    system_means: dict[str, float]

    @property
    def ordering(self) -> list[str]:
        """Systems from the highest mean utility to the lowest."""
        return sorted(self.system_means, key=lambda s: -self.system_means[s])

    def pair_rates(self, a: str, b: str, crowd: list[Annotator]) -> tuple[float, float]:
        """Expected ``(win rate of a against b, tie rate)`` over the bundle's (prompt, seed) and the crowd,
        with sides shown at random (ties count half)."""
        keys = sorted({(p, s) for (_, p, s) in self.utility_by_image})
        win = tie = 0.0
        for p, s in keys:
            ua, ub = self.utility_by_image[(a, p, s)], self.utility_by_image[(b, p, s)]
            for ann in crowd:
                for left_is_a in (True, False):
                    pl, pr, pt = choice_probabilities(ann, ua, ub) if left_is_a else choice_probabilities(ann, ub, ua)
                    win += (pl if left_is_a else pr) + pt / 2
                    tie += pt
        n = 2 * len(keys) * len(crowd)
        return win / n, tie / n


def image_utility(scorer, png: bytes, prompt: str) -> float:
    """The world scorer's CLIPScore (100 * cos) of one image against its prompt."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return float(scorer.similarity([image], [prompt])[0, 0]) * 100.0


def ground_truth(bundle_dir: str | Path, scorer) -> GroundTruth:
    """Score every image of a bundle against its prompt; the known ordering is by mean per system."""
    bundle_dir = Path(bundle_dir)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    prompts = {p["id"]: p["text"] for p in manifest["prompts"]}
    by_sha, by_image, per_system = {}, {}, {}
    for entry in manifest["images"]:
        data = (bundle_dir / entry["path"]).read_bytes()
        u = image_utility(scorer, data, prompts[entry["prompt"]])
        by_sha[(hashlib.sha256(data).hexdigest(), prompts[entry["prompt"]])] = u
        by_image[(entry["system"], entry["prompt"], int(entry["seed"]))] = u
        per_system.setdefault(entry["system"], []).append(u)
    return GroundTruth(by_sha, by_image, {s: float(np.mean(v)) for s, v in per_system.items()})


# ---------------------------------------------------------------------- clients
class HttpClient:
    """The annotator API over real HTTP (``urllib``), e.g. against ``manage.py runserver``."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url, self.timeout = base_url.rstrip("/"), timeout

    def request(self, method: str, path: str, json_body=None, token: str | None = None) -> tuple[int, bytes]:
        import urllib.error
        import urllib.request

        url = path if path.startswith("http") else self.base_url + path
        data = None if json_body is None else json.dumps(json_body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


class DjangoClient:
    """The annotator API through ``django.test.Client`` (URL routing, views, database; no socket)."""

    def __init__(self, client=None):
        from django.test import Client

        self.client = client or Client()

    def request(self, method: str, path: str, json_body=None, token: str | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if method == "GET":
            resp = self.client.get(path, headers=headers)
        else:
            resp = self.client.post(path, data=json.dumps(json_body or {}), content_type="application/json",
                                    headers=headers)
        body = b"".join(resp.streaming_content) if getattr(resp, "streaming", False) else resp.content
        return resp.status_code, body


# ------------------------------------------------------------------- the crowd
def run_crowd(client, slug: str, crowd: list[Annotator], scorer, rng: np.random.Generator,
              known: dict[tuple[str, str], float] | None = None, max_votes: int | None = None) -> dict:
    """Let annotators join one after another and vote until the study has nothing left (or ``max_votes``).

    ``known`` maps (sha256, prompt) -> utility (the ground truth's) so known images are not
    rescored; any other image is scored from its pixels against the task's prompt. Returns counts of sessions, votes and refusals.
    """
    cache = dict(known or {})
    stats = {"sessions": 0, "votes": 0, "refused": 0, "images_fetched": 0}

    def utility(url: str, prompt: str, token: str) -> float:
        status, body = client.request("GET", url, token=token)  # images are served to the session's holder
        if status != 200:
            raise RuntimeError(f"image {url} answered {status}")
        stats["images_fetched"] += 1
        key = (hashlib.sha256(body).hexdigest(), prompt)
        if key not in cache:
            cache[key] = image_utility(scorer, body, prompt)
        return cache[key]

    i = 0
    while max_votes is None or stats["votes"] < max_votes:
        ann = crowd[i % len(crowd)]
        status, body = client.request("POST", f"/api/studies/{slug}/sessions",
                                      {"external_id": f"sim-{i}", "session_id": f"s{i}"})
        i += 1
        if status == 409:  # quota used up for this external id; a new one joins next
            continue
        if status != 201:
            raise RuntimeError(f"joining {slug!r} answered {status}: {body[:200]!r}")
        token = json.loads(body)["token"]
        stats["sessions"] += 1
        voted_here = 0
        while max_votes is None or stats["votes"] < max_votes:
            status, body = client.request("GET", "/api/session/next", token=token)
            if status == 204:
                break
            if status != 200:
                raise RuntimeError(f"/api/session/next answered {status}: {body[:200]!r}")
            task = json.loads(body)
            choice = _choose(ann, utility(task["left"]["url"], task["prompt"], token),
                             utility(task["right"]["url"], task["prompt"], token), rng)
            status, body = client.request("POST", f"/api/assignments/{task['assignment']}/vote",
                                          {"choice": choice, "response_ms": int(rng.integers(800, 4000))}, token=token)
            if status not in (200, 201):
                stats["refused"] += 1
                continue
            stats["votes"] += 1
            voted_here += 1
        if voted_here == 0:  # a fresh annotator found nothing: the study is done
            break
    return stats


# -------------------------------------------------------------------- analysis
def recovery_curve(votes, truth: GroundTruth, checkpoints, *, alpha: float = 0.05, n_bootstrap: int = 0,
                   criterion: str | None = None) -> list[dict]:
    """Analyse the first ``n`` votes (export order by ``created_at``) for each ``n`` in ``checkpoints``."""
    from analysis.report import build_summary

    order = truth.ordering
    pairs = list(zip(order, order[1:]))
    votes = votes.sort_values(["created_at", "vote_id"], kind="stable").reset_index(drop=True)
    rows = []
    for n in checkpoints:
        n = min(int(n), len(votes))
        summary = build_summary(votes.iloc[:n].copy(), n_bootstrap=n_bootstrap,
                                comparisons=[(a, b) for a in order for b in order if order.index(a) < order.index(b)])
        crit = summary["by_criterion"][criterion or next(iter(summary["by_criterion"]))]
        bt = [r["system"] for r in sorted(crit["bradley_terry"], key=lambda r: -r["score"])]
        rates = {(r["a"], r["b"]): r for r in crit["win_rates"]}
        def significant(key: str) -> bool:
            return all((a, b) in rates and rates[(a, b)]["win_rate"] > 0.5 and rates[(a, b)][key] is not None
                       and rates[(a, b)][key] < alpha for a, b in pairs)

        adjacent = [{"a": a, "b": b} | {k: rates.get((a, b), {}).get(k)
                                        for k in ("win_rate", "p_value", "p_value_sign_test", "design_effect")}
                    for a, b in pairs]
        rows.append({"votes": n, "votes_counted": summary["n_votes_counted"], "bt_order": bt,
                     "order_right": bt == order, "adjacent": adjacent,
                     "adjacent_significant": significant("p_value"),
                     "recovered": bt == order and significant("p_value"),
                     "recovered_sign_test": bt == order and significant("p_value_sign_test")})
        if n == len(votes):
            break
    return rows


def predicted_votes(truth: GroundTruth, crowd: list[Annotator], n_compared_pairs: int, *, alpha: float = 0.05,
                    power: float = 0.8) -> dict:
    """The power calculator's votes for each adjacent pair (true win/tie rates under the choice model)."""
    from analysis.power import votes_needed

    order = truth.ordering
    per_pair = []
    for a, b in zip(order, order[1:]):
        w, t = truth.pair_rates(a, b, crowd)
        n = votes_needed(min(max(w, t / 2 + 1e-6, 1e-6), 1 - t / 2 - 1e-6), tie_rate=t, alpha=alpha, power=power) \
            if abs(w - 0.5) > 1e-9 else None
        per_pair.append({"a": a, "b": b, "win_rate": w, "tie_rate": t, "votes_needed": n})
    needs = [p["votes_needed"] for p in per_pair]
    total = None if any(n is None for n in needs) else max(needs) * n_compared_pairs
    return {"per_pair": per_pair, "n_compared_pairs": n_compared_pairs, "study_votes": total}


# ------------------------------------------------------------- a contrast case
class _PromptShifted:
    """Pipeline adapter that draws each prompt's image for another prompt (``shift``: prompt -> prompt drawn)."""

    def __init__(self, pipe, shift: dict[str, str]):
        self.pipe, self.shift = pipe, shift

    def __getattr__(self, name):
        return getattr(self.pipe, name)

    def __call__(self, *args, prompt=None, **kwargs):
        return self.pipe(*args, prompt=[self.shift[p] for p in prompt], **kwargs)


def build_contrast_bundle(out_dir: str | Path, n_prompts: int = 6, seeds=(0, 1), progress: bool = False) -> Path:
    """A bundle whose systems differ clearly, all drawn by the reference model in 4 steps: for the prompt
    (``right``), for the prompt with every shape colour swapped for the next one in the world's list
    (``wrong-colour``), and for another prompt (``wrong-prompt``); all pairs compared."""
    from generation.bundle import System
    from generation.plan import write_bundle

    from . import world
    from .model import DEFAULT_GUIDANCE, load_pipeline

    prompts = [s.caption for s in world.distinct_scenes(n_prompts, seed=31, split="train")]
    pipe = load_pipeline()
    colours = list(world.COLOURS)
    recolour = {c: colours[(i + 1) % len(colours)] for i, c in enumerate(colours)}
    systems = [System("right", "reference model, 4 steps", pipe, {"steps": 4}),
               System("wrong-colour", "4 steps, shape colours swapped",
                      _PromptShifted(pipe, {p: " ".join(recolour.get(w, w) for w in p.split()) for p in prompts}),
                      {"steps": 4}),
               System("wrong-prompt", "4 steps, drawn for another prompt",
                      _PromptShifted(pipe, {p: prompts[(i + 1) % len(prompts)] for i, p in enumerate(prompts)}),
                      {"steps": 4})]
    write_bundle(out_dir, "reference-crowd-contrast", systems, prompts, list(seeds), num_inference_steps=4,
                 guidance_scale=DEFAULT_GUIDANCE, batch_size=16, progress=progress)
    return Path(out_dir)
