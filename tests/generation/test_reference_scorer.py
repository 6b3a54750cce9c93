"""The shipped world scorer (tiny CLIP) loads offline and reads captions."""

import numpy as np
import pytest
import torch
from PIL import Image

from generation.reference import world
from generation.reference.scorer import load_scorer


@pytest.fixture(scope="module")
def scorer():
    torch.manual_seed(0)
    return load_scorer()


def test_it_ranks_the_true_caption_first_for_most_world_images(scorer):
    scenes = world.sample_scenes(20, seed=99)
    captions = [s.caption for s in scenes]
    assert len(set(captions)) == 20
    rng = np.random.default_rng(0)
    images = [Image.fromarray(world.render(s, rng)) for s in scenes]
    sim = scorer.similarity(images, captions)
    hits = int((sim.argmax(1) == torch.arange(20)).sum())
    assert hits >= 16, f"only {hits}/20 captions ranked first"


def test_a_64px_render_reads_like_the_32px_render_of_the_same_scene(scorer):
    scenes = world.sample_scenes(8, seed=5)
    small = np.stack([world.render(s, np.random.default_rng(i), 32) for i, s in enumerate(scenes)])
    large = np.stack([world.render(s, np.random.default_rng(i), 64) for i, s in enumerate(scenes)])
    a, b = scorer.image_features(small), scorer.image_features(large)
    assert a.shape == b.shape == (8, 64)
    assert float((a * b).sum(1).min()) > 0.95  # box-averaged to the scorer's 32x32 input first


def test_matching_caption_scores_higher_than_a_changed_colour(scorer):
    scene = world.Scene((world.Group(1, "large", "red", "circle"),), "white")
    img = Image.fromarray(world.render(scene, np.random.default_rng(0)))
    right, wrong = scorer.clip_score([img, img], [scene.caption, scene.caption.replace("red", "blue")])
    assert right > wrong


def test_it_plugs_into_the_jaq_text_image_term(scorer):
    from generation.jaq import CLIPScore

    term = CLIPScore(model=scorer.model, tokenizer=scorer.tokenizer, preprocess=scorer.preprocess)
    scene = world.Scene((world.Group(2, "small", "yellow", "square"),), "black")
    img = Image.fromarray(world.render(scene, np.random.default_rng(0)))
    got = term([img], [scene.caption])
    assert torch.allclose(got, scorer.clip_score([img], [scene.caption]), atol=1e-4)


def test_missing_weights_give_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_scorer"):
        load_scorer(tmp_path)
