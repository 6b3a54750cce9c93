"""The shapes world: deterministic, captioned, with a real held-out split."""

import numpy as np
import pytest

from generation.reference import world
from generation.reference.tokenizer import build_tokenizer


def test_same_seed_gives_the_same_pixels_and_captions():
    a_img, a_cap = world.make_dataset(40, seed=3)
    b_img, b_cap = world.make_dataset(40, seed=3)
    assert a_cap == b_cap
    assert np.array_equal(a_img, b_img)


def test_different_seeds_give_different_scenes():
    _, a = world.make_dataset(40, seed=3)
    _, b = world.make_dataset(40, seed=4)
    assert a != b


def test_images_are_uint8_rgb_and_show_the_background_and_the_shapes():
    scene = world.Scene((world.Group(2, "large", "red", "circle"),), "grey")
    assert world.render(scene, np.random.default_rng(0)).shape == (world.IMAGE_SIZE, world.IMAGE_SIZE, 3) == (64, 64, 3)
    img = world.render(scene, np.random.default_rng(0), size=32)
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == world.BACKGROUNDS["grey"]
    reds = np.all(np.abs(img.astype(int) - world.COLOURS["red"]) < 10, axis=-1)
    # two large circles of radius 0.15 * 32 px cover roughly 2 * pi * 4.8^2 ~ 145 px
    assert 100 < reds.sum() < 200


def test_caption_says_what_is_drawn():
    scene = world.Scene((world.Group(2, "small", "red", "circle"), world.Group(1, "large", "blue", "square")),
                        "grey", "above")
    assert scene.caption == "two small red circles above a large blue square on a grey background"


def test_relation_above_puts_the_first_group_higher():
    red, blue = world.Group(1, "large", "red", "square"), world.Group(1, "large", "blue", "square")
    img = world.render(world.Scene((red, blue), "white", "above"), np.random.default_rng(1)).astype(int)
    rows_red = np.nonzero(np.all(np.abs(img - world.COLOURS["red"]) < 10, -1))[0]
    rows_blue = np.nonzero(np.all(np.abs(img - world.COLOURS["blue"]) < 10, -1))[0]
    assert rows_red.mean() < rows_blue.mean()


def test_training_split_never_shows_a_held_out_pair_and_held_out_always_does():
    train = world.sample_scenes(500, seed=0, split="train")
    held = world.sample_scenes(200, seed=0, split="heldout")
    assert not any(s.is_held_out() for s in train)
    assert all(s.is_held_out() for s in held)
    # ...while every colour and every shape still occurs in training
    groups = [g for s in train for g in s.groups]
    assert {g.colour for g in groups} == set(world.COLOURS)
    assert {g.shape for g in groups} == set(world.SHAPES)


def test_heldout_prompts_are_distinct_and_deterministic():
    p = world.heldout_prompts(30, seed=5)
    assert len(set(p)) == 30 and p == world.heldout_prompts(30, seed=5)


def test_every_caption_word_is_in_the_tokenizer_vocabulary():
    tok = build_tokenizer()
    captions = [s.caption for s in world.sample_scenes(300, seed=1)] + world.heldout_prompts(50)
    ids = tok(captions, padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
    assert all(tok.unk_token_id not in row for row in ids)
    assert all(row.count(tok.eos_token_id) == 1 for row in ids)  # nothing truncated


def test_bad_split_is_refused_by_name():
    with pytest.raises(ValueError, match="split"):
        world.sample_scenes(3, seed=0, split="test")


def test_a_caption_parses_back_to_its_scene_and_a_foreign_one_is_refused_by_name():
    scenes = world.sample_scenes(300, seed=5) + world.sample_scenes(100, seed=5, split="heldout")
    assert all(world.parse_caption(s.caption) == s for s in scenes)
    for bad in ("a large red circle", "two large red circle on a white background",
                "a large red circle near a small blue square on a white background"):
        with pytest.raises(ValueError, match="not a caption of the shapes world"):
            world.parse_caption(bad)
