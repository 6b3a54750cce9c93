"""A simulated crowd votes through the annotator API; the analysis recovers the known ordering."""

import io

import numpy as np
import pytest

from generation.reference.simulated_crowd import (
    Annotator,
    DjangoClient,
    build_contrast_bundle,
    choice_probabilities,
    ground_truth,
    make_crowd,
    predicted_votes,
    recovery_curve,
    run_crowd,
)


def test_the_choice_model_prefers_the_higher_utility_and_random_clickers_ignore_it():
    sharp = Annotator(sharpness=1.0, tie_propensity=0.2)
    pl, pr, pt = choice_probabilities(sharp, 90.0, 85.0)
    assert pl > 0.9 and pl + pr + pt == pytest.approx(1.0)
    assert choice_probabilities(sharp, 85.0, 85.0)[0] == pytest.approx(choice_probabilities(sharp, 85.0, 85.0)[1])
    assert choice_probabilities(Annotator(1.0, random_clicker=True), 99.0, 1.0) == (0.5, 0.5, 0.0)


def test_a_crowd_is_heterogeneous_and_bad_settings_are_refused():
    crowd = make_crowd(50, np.random.default_rng(0), heterogeneity=0.5, random_rate=0.2)
    assert len({a.sharpness for a in crowd}) == 50 and any(a.random_clicker for a in crowd)
    with pytest.raises(ValueError, match="sharpness"):
        make_crowd(3, np.random.default_rng(0), sharpness=0)


# 12 prompts: the win rates' p-values are cluster-robust (annotator x prompt), and with the 64x64 model one of 6
# prompts' wrong-prompt image scores above its wrong-colour one, so 6 prompts (p 0.14) or 10 (p 0.057) were too few
N_PROMPTS = 12


@pytest.fixture(scope="module")
def contrast(tmp_path_factory):
    from generation.reference.scorer import load_scorer

    out = build_contrast_bundle(tmp_path_factory.mktemp("crowd") / "bundle", n_prompts=N_PROMPTS, seeds=(0, 1))
    scorer = load_scorer()
    return out, scorer, ground_truth(out, scorer)


@pytest.mark.django_db
def test_votes_through_the_api_recover_the_known_ordering(contrast, tmp_path, settings):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from analysis.io import read_votes

    bundle, scorer, truth = contrast
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.QSCHED_RATE_LIMITS = False  # one IP plays the whole crowd: a load test, as bench_annotate
    rng = np.random.default_rng(0)
    n_items = 3 * N_PROMPTS * 2  # pairs x prompts x seeds, one criterion
    crowd = make_crowd(n_items * 4 // 3, rng, sharpness=0.5)  # quota 3 each: every vote cast
    # precondition: under the choice model each system beats the next one in the known order
    assert all(truth.pair_rates(a, b, crowd)[0] > 0.55 for a, b in zip(truth.ordering, truth.ordering[1:]))
    get_user_model().objects.create_superuser("owner", password="x")
    call_command("import_bundle", str(bundle), study="crowd", votes_per_pair=4, launch=True,
                 attention_check_rate=0.0, quota=3, stdout=io.StringIO())  # each annotator an equal share
    stats = run_crowd(DjangoClient(), "crowd", crowd, scorer, rng, known=truth.utility_by_sha)
    assert stats["votes"] == n_items * 4 and stats["refused"] == 0
    call_command("export_votes", "crowd", format="csv", out=tmp_path / "votes.csv", stdout=io.StringIO())
    votes = read_votes(tmp_path / "votes.csv")
    assert truth.ordering == ["right", "wrong-colour", "wrong-prompt"]
    prediction = predicted_votes(truth, crowd, n_compared_pairs=3)
    assert 15 < prediction["study_votes"] < len(votes) / 2  # the study has room to recover it
    curve = recovery_curve(votes, truth, [15, len(votes)])
    # 15 votes, about 5 a pair, pass neither the default (clustered) test nor a sign test at 0.05
    assert not curve[0]["recovered"] and not curve[0]["recovered_sign_test"]
    assert curve[-1]["votes"] == len(votes) == n_items * 4
    assert curve[-1]["recovered"] and curve[-1]["recovered_sign_test"], curve[-1]["adjacent"]
    last = curve[-1]["adjacent"]  # the default is the clustered test, not the sign test
    assert all(x["p_value"] != x["p_value_sign_test"] for x in last)
