"""JAQ and its terms on known inputs."""

import math

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from generation.jaq import JAQ, CLIPScore, PyIQA


class ColorCLIP(torch.nn.Module):
    """A stand-in CLIP: image embedding = mean RGB, text embedding = a fixed vector per prompt."""

    TEXT = {"red": [1.0, 0.0, 0.0], "green": [0.0, 1.0, 0.0], "anti": [-1.0, -1.0, -1.0], "grey": [1.0, 1.0, 1.0]}

    def encode_image(self, x):
        return x.mean(dim=(2, 3))

    def encode_text(self, tokens):
        return tokens


def _tokenize(prompts):
    return torch.tensor([ColorCLIP.TEXT[p] for p in prompts])


def _solid(rgb, size=64):
    return Image.new("RGB", (size, size), tuple(int(c) for c in rgb))


@pytest.fixture(scope="module")
def color_clip():
    return CLIPScore(model=ColorCLIP(), tokenizer=_tokenize, preprocess=TF.to_tensor, batch_size=2)


def test_clipscore_is_100_times_the_clipped_cosine(color_clip):
    images = [_solid((255, 0, 0)), _solid((255, 0, 0)), _solid((255, 255, 0)), _solid((10, 200, 30)), _solid((80, 80, 80))]
    prompts = ["red", "green", "red", "anti", "grey"]
    got = color_clip(images, prompts)
    expected = torch.tensor([100.0, 0.0, 100 / math.sqrt(2), 0.0, 100.0])
    assert torch.allclose(got, expected, atol=1e-4)


def test_batching_does_not_change_scores(color_clip):
    rng = np.random.default_rng(0)
    images = [_solid(rng.integers(0, 255, 3)) for _ in range(7)]
    prompts = ["red", "green", "grey"] * 2 + ["red"]
    one = CLIPScore(model=ColorCLIP(), tokenizer=_tokenize, preprocess=TF.to_tensor, batch_size=16)
    assert torch.allclose(color_clip(images, prompts), one(images, prompts))


def test_jaq_combines_the_terms_with_weight_k(color_clip):
    quality = lambda ims: torch.tensor([np.asarray(im).mean() / 255.0 for im in ims])  # noqa: E731
    images, prompts = [_solid((255, 0, 0)), _solid((255, 255, 0))], ["red", "red"]
    r = JAQ(text_image=color_clip, quality=quality, k=2.0, variant="linear").score(images, prompts)
    iqa = torch.tensor([1 / 3, 2 / 3])
    assert torch.allclose(r.iqa, iqa)
    assert torch.allclose(r.jaq, torch.tensor([1.0, 1 / math.sqrt(2)]) + 2 * iqa, atol=1e-5)
    assert r.mean == pytest.approx(float(r.jaq.mean()))
    log = JAQ(text_image=color_clip, quality=quality, k=0.5, variant="mean-log").score(images, prompts)
    assert torch.allclose(log.jaq, torch.log(torch.tensor([100.0, 100 / math.sqrt(2)])) + 0.5 * iqa, atol=1e-5)
    assert r.per_image()[0] == pytest.approx({"jaq": 1 + 2 / 3, "clip_score": 100.0, "iqa": 1 / 3}, abs=1e-5)


def test_piqe_runs_without_weights_and_prefers_texture_to_a_flat_image():
    piqe = PyIQA("piqe", batch_size=2)
    rng = np.random.default_rng(0)
    textured = Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8))
    small = Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8))  # resized up to 64 first
    s = piqe([_solid((128, 128, 128)), textured, small])
    assert s.shape == (3,)
    assert s[0].item() == pytest.approx(0.0)  # PIQE 100 (worst) -> 0
    assert 0.0 < s[1].item() <= 1.0 and 0.0 <= s[2].item() <= 1.0


def test_a_tiny_open_clip_model_can_be_plugged_in():
    import open_clip

    torch.manual_seed(0)
    model = open_clip.CLIP(
        embed_dim=16,
        vision_cfg=open_clip.model.CLIPVisionCfg(layers=1, width=32, patch_size=8, image_size=32, head_width=16),
        text_cfg=open_clip.model.CLIPTextCfg(context_length=77, vocab_size=49408, width=32, heads=2, layers=1),
    )
    scorer = CLIPScore(model=model, preprocess=open_clip.image_transform(32, is_train=False), batch_size=2)
    images = [_solid((200, 30, 30)), _solid((30, 30, 200)), _solid((30, 200, 30))]
    s = scorer(images, ["a red square", "a blue square", "a green square"])
    assert s.shape == (3,) and torch.all((s >= 0) & (s <= 100))
    assert torch.equal(s, scorer(images, ["a red square", "a blue square", "a green square"]))


def test_bad_input_is_refused(color_clip):
    jaq = JAQ(text_image=color_clip, quality=lambda ims: torch.zeros(len(ims)))
    with pytest.raises(ValueError, match="got 1 images but 2 prompts"):
        jaq.score([_solid((0, 0, 0))], ["red", "red"])
    with pytest.raises(ValueError, match="no images to score"):
        jaq.score([], [])
    with pytest.raises(ValueError, match="variant must be one of paper, mean-log, linear"):
        JAQ(text_image=color_clip, quality=lambda ims: ims, variant="exp")
    with pytest.raises(ValueError, match="unknown no-reference pyiqa metric 'nope'"):
        PyIQA("nope")
    with pytest.raises(ValueError, match="preprocess is required"):
        CLIPScore(model=ColorCLIP())
