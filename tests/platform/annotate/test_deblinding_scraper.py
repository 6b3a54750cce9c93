"""Finding 1: the de-blinding scraper labels images no better than chance.

The scraper of finding 1 claims tasks without voting, hashes both images of each and, per
prompt, takes the order in which its three comparisons were dealt as the manifest's pair
order (A-B, then A-C, then B-C): the image shared by the first two is A, by the first and
third B, by the last two C. With ids in manifest order it labelled 414 of 600 images right
(chance: 200). With a random deal order over the whole study and images served as uniform
bytes, its accuracy must be indistinguishable from chance (one-sided binomial test, p > 0.001).
"""
import hashlib
from collections import defaultdict

import pytest
from scipy.stats import binomtest

from studies.models import Image
from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db

N_PROMPTS = 120  # 360 work items: more than one hand-out window of the old code (200 candidates)
SYSTEMS = ("fp16", "w4a8", "w4a8-qsched")  # the manifest lists pairs A-B, A-C, B-C ("all-pairs")


def _scrape(client) -> dict[str, list[tuple[str, str]]]:
    """Claim every comparison once without voting; per prompt, its image-hash pairs in deal order."""
    seen: dict[str, list[tuple[str, str]]] = defaultdict(list)
    claimed = 0
    while claimed < N_PROMPTS * 3:
        token = client.post("/api/studies/scraped/sessions", {}, content_type="application/json").json()["token"]
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        held = []
        for _ in range(2):
            response = client.get("/api/session/next", {"exclude": ",".join(held)}, **auth)
            if response.status_code != 200:
                break
            task = response.json()
            held.append(task["assignment"])
            hashes = tuple(hashlib.sha256(b"".join(client.get(task[side]["url"], **auth).streaming_content))
                           .hexdigest() for side in ("left", "right"))
            seen[task["prompt"]].append(hashes)
            claimed += 1
    return seen


def _label(comparisons: list[tuple[str, str]]) -> dict[str, str]:
    """The scraper's guess for one prompt: system per image hash."""
    if len(comparisons) < 3:
        return {}
    c1, c2, c3 = (set(c) for c in comparisons[:3])
    guesses = {}
    for system, shared in zip(SYSTEMS, (c1 & c2, c1 & c3, c2 & c3)):
        if len(shared) == 1:
            guesses[shared.pop()] = system
    return guesses


def test_the_deblinding_scraper_does_no_better_than_chance(owner, tmp_path, client):
    bundle = write_bundle(tmp_path / "bundle", systems=SYSTEMS, n_prompts=N_PROMPTS)
    study = create_study_from_bundle(bundle_dir=bundle, slug="scraped", owner=owner, launch=True, votes_per_pair=3)
    truth = {}
    for image in Image.objects.filter(study=study).select_related("system"):
        with image.file.open("rb") as fh:
            truth[hashlib.sha256(fh.read()).hexdigest()] = image.system.key
    assert len(truth) == N_PROMPTS * len(SYSTEMS)  # every served image distinct, so hashes identify images

    seen = _scrape(client)
    guesses = {h: s for comparisons in seen.values() for h, s in _label(comparisons).items()}
    correct = sum(truth[h] == system for h, system in guesses.items())
    assert len(guesses) >= N_PROMPTS * 3 * 0.9  # the scraper labelled (nearly) every image
    result = binomtest(correct, len(guesses), 1 / 3, alternative="greater")
    assert result.pvalue > 0.001, (f"the scraper labelled {correct} of {len(guesses)} images right "
                                   f"(chance {len(guesses) / 3:.0f}; p = {result.pvalue:.2g})")
