"""The geometric legibility checker reads the world's own renders right and catches each kind of error."""

import dataclasses

import numpy as np
import pytest

from generation.reference import world
from generation.reference.legibility import check, read_image, read_shape


def _render(scene, seed=0, size=64):
    return world.render(scene, np.random.default_rng(seed), size)


def test_the_worlds_64px_renders_read_right_on_every_count():
    scenes = world.distinct_scenes(60, seed=7, split="heldout") + world.distinct_scenes(60, seed=7, split="train")
    result = check([_render(s, i) for i, s in enumerate(scenes)], [s.caption for s in scenes])
    assert result["n"] == 120
    assert (result["shape"], result["colour"], result["count"], result["all"]) == (1.0, 1.0, 1.0, 1.0)


def test_ideal_masks_read_as_their_shape():
    c = (np.arange(24) + 0.5) / 24
    x, y = c[None, :], c[:, None]
    assert read_shape(np.ones((12, 12), dtype=bool)) == "square"
    assert read_shape((x - 0.5) ** 2 + (y - 0.5) ** 2 <= 0.2) == "circle"
    assert read_shape(np.abs(x - 0.5) <= y / 2) == "triangle"
    assert read_shape(np.abs(x - 0.5) <= (1 - y) / 2) == "triangle"  # pointing down is a triangle too


def _scene_with(n_groups):
    return next(s for s in world.distinct_scenes(200, seed=3, split="train")
                if len(s.groups) == n_groups and s.groups[0].count == 2)


@pytest.mark.parametrize("n_groups", [1, 2])
def test_each_corruption_fails_its_own_judgement_and_only_that_one(n_groups):
    scene = _scene_with(n_groups)
    g = scene.groups[0]
    other_colour = next(c for c in world.COLOURS if c not in {h.colour for h in scene.groups})
    other_shape = next(s for s in world.SHAPES if s not in {h.shape for h in scene.groups})
    corrupt = {
        "colour": dataclasses.replace(g, colour=other_colour),
        "shape": dataclasses.replace(g, shape=other_shape),
        "count": dataclasses.replace(g, count=1),
    }
    assert read_image(_render(scene), scene.caption).all
    for wrong, group in corrupt.items():
        bad = dataclasses.replace(scene, groups=(group,) + scene.groups[1:])
        reading = read_image(_render(bad), scene.caption)
        judged = {"shape": reading.shape, "colour": reading.colour, "count": reading.count}
        assert judged == {k: k != wrong for k in judged}, (wrong, reading)


def test_a_blank_or_a_blurred_image_does_not_pass():
    scene = world.Scene((world.Group(2, "large", "red", "square"),), "white")
    img = _render(scene)
    blank = np.full_like(img, 235)
    assert not read_image(blank, scene.caption).all
    from PIL import Image, ImageFilter

    blurred = Image.fromarray(img).filter(ImageFilter.GaussianBlur(4))
    assert not read_image(blurred, scene.caption).shape  # the corners are gone


def test_images_and_captions_must_pair():
    with pytest.raises(ValueError, match="paired"):
        check([np.zeros((64, 64, 3), np.uint8)], [])
