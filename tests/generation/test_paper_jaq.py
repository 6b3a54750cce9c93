"""The paper's JAQ against hand computations, and the released code's bugs we do not copy.

Hand values: log(30) = 3.401197, log(30.5) = 3.417727, log(20) = 2.995732, log(41) = 3.713572.
"""

import math

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from generation.jaq import (
    JAQ,
    PAPER_IQA_PROMPTS,
    CLIPScore,
    PyIQA,
    UnavailableCriterion,
    equal_weight_batches,
)
from generation.search import run_search


class Fixed:
    """A text-image term returning given ``100 * cos`` values (as CLIPScore.cosine100 does)."""

    def __init__(self, values):
        self.values = values

    def cosine100(self, images, prompts):
        return torch.tensor(self.values[: len(images)], dtype=torch.float32)

    def __call__(self, images, prompts):
        return self.cosine100(images, prompts).clamp(min=0)


def _images(n):
    return [Image.new("RGB", (8, 8), (i, i, i)) for i in range(n)]


def _jaq(cos, iqa, variant="paper", k=2.0):
    return JAQ(text_image=Fixed(cos), quality=lambda ims: torch.tensor(iqa[: len(ims)]), k=k,
               variant=variant).score(_images(len(cos)), ["p"] * len(cos))


def test_the_paper_jaq_is_the_log_of_the_mean_clipscore_plus_k_times_the_mean_quality():
    r = _jaq([20.0, 41.0], [0.25, 0.75])
    assert r.mean == pytest.approx(3.417727 + 2 * 0.5, abs=1e-6)  # log(30.5) + 2 * 0.5
    assert r.per_image()[1] == pytest.approx({"jaq": 3.713572 + 2 * 0.75, "clip_score": 41.0, "iqa": 0.75}, abs=1e-5)


def test_the_log_of_the_mean_and_the_mean_of_logs_rank_30_30_and_20_41_differently():
    even, uneven = [30.0, 30.0], [20.0, 41.0]
    iqa = [0.5, 0.5]
    assert _jaq(even, iqa).mean == pytest.approx(3.401197 + 1.0, abs=1e-6)
    assert _jaq(uneven, iqa).mean == pytest.approx(3.417727 + 1.0, abs=1e-6)
    assert _jaq(uneven, iqa).mean > _jaq(even, iqa).mean  # the paper prefers [20, 41]
    assert _jaq(even, iqa, "mean-log").mean == pytest.approx(3.401197 + 1.0, abs=1e-6)
    assert _jaq(uneven, iqa, "mean-log").mean == pytest.approx((2.995732 + 3.713572) / 2 + 1.0, abs=1e-6)
    assert _jaq(uneven, iqa, "mean-log").mean < _jaq(even, iqa, "mean-log").mean  # the mean of logs does not


def test_the_clipscore_is_clamped_after_averaging_not_per_image():
    r = _jaq([-10.0, 30.0], [0.0, 0.0])
    assert r.mean == pytest.approx(math.log(10.0), abs=1e-6)  # max(mean(-10, 30), 0) = 10, not mean(0, 30) = 15
    assert r.clip_score.tolist() == [0.0, 30.0]  # per image, CLIPScore is clamped on its own
    assert _jaq([-10.0, 30.0], [0.0, 0.0], "mean-log").mean == pytest.approx((math.log(1e-6) + math.log(30)) / 2)
    floor = _jaq([-30.0, 10.0], [0.5, 0.5])
    assert floor.mean == pytest.approx(math.log(1e-6) + 1.0)  # a mean at or below 0 clamps to 0: log(1e-6)


def test_the_linear_form_is_kept_as_an_option():
    r = _jaq([20.0, 41.0], [0.25, 0.75], "linear", k=1.0)
    assert r.mean == pytest.approx(((0.20 + 0.25) + (0.41 + 0.75)) / 2, abs=1e-6)


def test_the_aggregate_of_a_set_matches_scoring_the_set():
    jaq = JAQ(text_image=Fixed([20.0, 41.0, -5.0]), quality=lambda ims: torch.tensor([0.1, 0.2, 0.3][: len(ims)]))
    r = jaq.score(_images(3), ["p"] * 3)
    assert jaq.aggregate(r.cosine100, r.iqa) == pytest.approx(
        {"jaq": math.log(56 / 3) + 2 * 0.2, "clip_score": 56 / 3, "iqa": 0.2}, abs=1e-6)


def test_the_grid_ranking_picks_the_best_jaq_where_the_released_rule_would_pick_the_highest_clipscore():
    jaq = JAQ(text_image=Fixed([]), quality=lambda ims: ims, variant="paper")
    table = {  # (c_x, c_theta) -> (per-image 100 cos, per-image CLIP-IQA)
        (0.8, 0.8): ([31.0, 33.0], [0.30, 0.34]),  # highest CLIPScore (32), poor quality
        (0.8, 1.2): ([29.0, 29.0], [0.70, 0.74]),  # best JAQ
        (1.2, 0.8): ([30.0, 30.0], [0.50, 0.50]),
        (1.2, 1.2): ([25.0, 26.0], [0.60, 0.60]),
    }
    found = run_search(lambda cx, ct: jaq.aggregate(*table[(cx, ct)])["jaq"], "grid", bounds=(0.8, 1.2), grid_size=2)
    released = max(table, key=lambda key: np.mean(table[key][0]))  # its `max(scores_dict.items(), key=item[1])`
    assert found.best == (0.8, 1.2) and released == (0.8, 0.8)
    assert found.best_value == pytest.approx(math.log(29) + 2 * 0.72)


class RecordingCLIP(torch.nn.Module):
    """Image embedding = (grey level, 1): records which images (by grey level) it saw."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def encode_image(self, x):
        grey = x[:, 0].mean(dim=(1, 2))
        self.seen += [round(float(g) * 255) for g in grey]
        return torch.stack([grey, torch.ones_like(grey)], dim=1)

    def encode_text(self, tokens):
        return tokens


def test_every_image_is_scored_once_with_equal_weight():
    model = RecordingCLIP()
    clip = CLIPScore(model=model, tokenizer=lambda ps: torch.tensor([[0.0, 1.0]] * len(ps)),
                     preprocess=TF.to_tensor, batch_size=5)
    images = [Image.new("RGB", (8, 8), (10 * i, 10 * i, 10 * i)) for i in range(25)]
    iqa = torch.linspace(0, 1, 25)
    r = JAQ(text_image=clip, quality=lambda ims: iqa).score(images, ["p"] * 25)
    assert sorted(model.seen) == [10 * i for i in range(25)]  # 25 images, each once
    cos = 100 / torch.sqrt(1 + (torch.arange(25) * 10 / 255) ** 2)
    assert r.mean == pytest.approx(math.log(float(cos.mean())) + 2 * 0.5, abs=1e-5)
    ours = np.zeros(25, int)
    for sl in equal_weight_batches(25, 5):
        ours[sl] += 1
    released = np.zeros(25, int)
    for batch in range(5):  # tensorized_images[batch:batch + batchsize]
        released[batch:batch + 5] += 1
    assert ours.tolist() == [1] * 25
    assert released.tolist()[:9] == [1, 2, 3, 4, 5, 4, 3, 2, 1] and released[9:].sum() == 0


def test_criteria_that_need_other_models_are_refused_with_what_to_install(capsys):
    from generation.cli import main
    from generation.plan import build_jaq

    with pytest.raises(UnavailableCriterion, match="pip install hpsv2"):
        JAQ(text_image=Fixed([]), quality=lambda ims: ims, variant="hpsv2")
    with pytest.raises(UnavailableCriterion, match="Q-Refine"):
        build_jaq({"variant": "aqmap"})  # refused before any model is loaded
    with pytest.raises(ValueError, match="'log' was renamed: 'mean-log'"):
        JAQ(text_image=Fixed([]), quality=lambda ims: ims, variant="log")
    assert main(["calibrate", "--pipeline", "nowhere", "--prompt", "x", "--steps", "1", "--out", "/nonexistent/x",
                 "--jaq-variant", "kclip2"]) == 2
    assert "unavailable here" in capsys.readouterr().err


def test_missing_weights_say_what_to_download(monkeypatch):
    import open_clip
    import pyiqa

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(open_clip, "create_model_and_transforms", offline)
    with pytest.raises(RuntimeError, match="'ViT-L-14' weights 'openai'.*timm/vit_large_patch14_clip_224.openai"):
        CLIPScore()
    monkeypatch.setattr(pyiqa, "create_metric", offline)
    with pytest.raises(RuntimeError, match=r"RN50.pt once into .*clip/RN50.pt"):
        PyIQA("clipiqa", prompts=PAPER_IQA_PROMPTS)


def _tiny_pyiqa_clip():
    from pyiqa.archs.clip_model import CLIP

    torch.manual_seed(0)
    return CLIP(embed_dim=16, image_resolution=64, vision_layers=1, vision_width=64, vision_patch_size=16,
                context_length=77, vocab_size=49408, transformer_width=32, transformer_heads=2,
                transformer_layers=1).float().eval()


def test_clip_iqa_uses_the_single_good_photo_bad_photo_pair_on_float_images(monkeypatch):
    import pyiqa.archs.clipiqa_arch as arch
    from pyiqa.archs.clip_imports import clip

    model = _tiny_pyiqa_clip()
    monkeypatch.setattr(arch, "load", lambda *args, **kwargs: model)
    paper = PyIQA("clipiqa", prompts=PAPER_IQA_PROMPTS, batch_size=2)
    assert torch.equal(paper.metric.net.prompt_pairs, clip.tokenize(["Good photo.", "Bad photo."]))
    seen = []
    paper.metric.net.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    rng = np.random.default_rng(0)
    images = [Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)) for _ in range(3)]
    got = paper(images)
    assert all(x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1 for x in seen)
    x = torch.stack([TF.to_tensor(im) for im in images])  # the hand computation
    mean = torch.tensor(arch.OPENAI_CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(arch.OPENAI_CLIP_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        img = torch.nn.functional.normalize(model.encode_image((x - mean) / std, False), dim=-1)
        txt = torch.nn.functional.normalize(model.encode_text(clip.tokenize(list(PAPER_IQA_PROMPTS))), dim=-1)
        expected = (model.logit_scale.exp() * img @ txt.T).softmax(-1)[:, 0]
    assert torch.allclose(got, expected, atol=1e-5)
    five_pairs = PyIQA("clipiqa", batch_size=2)(images)  # pyiqa's own ensemble gives other numbers
    assert not torch.allclose(five_pairs, expected, atol=1e-4)


def test_prompts_only_go_with_clipiqa_in_pairs():
    with pytest.raises(ValueError, match="antonym pairs"):
        PyIQA("piqe", prompts=PAPER_IQA_PROMPTS)
    with pytest.raises(ValueError, match="antonym pairs"):
        PyIQA("clipiqa", prompts=("Good photo.",))
