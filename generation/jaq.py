"""JAQ: a reference-free Joint Alignment-Quality score for generated images.

``JAQ = alignment + k * quality`` (``variant="linear"``) or
``log(CLIPScore) + k * quality`` (``variant="log"``, the paper's
log(CLIPScore) + k * CLIP-IQA ranking), with ``k = 2`` by default. Both terms
are pluggable:

* text-image alignment: :class:`CLIPScore` (open_clip; any model, including an
  already built one such as the project's own small reference CLIP), or any
  callable ``(images, prompts) -> Tensor[N]`` on the CLIPScore scale
  (100 * max(cos, 0));
* image quality: :class:`PyIQA` (pyiqa; ``clipiqa`` by default, ``piqe``
  needs no downloaded weights), or any callable ``images -> Tensor[N]`` where
  higher is better.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image

__all__ = ["CLIPScore", "PyIQA", "JAQ", "JAQResult", "pil_to_tensor"]


def pil_to_tensor(images: Sequence[Image.Image]) -> torch.Tensor:
    """Stack PIL images (same size) into a float ``(N, 3, H, W)`` tensor in [0, 1]."""
    arrays = [np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0 for im in images]
    sizes = {a.shape for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"images in one batch must have the same size, got {sorted(sizes)}")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


class CLIPScore:
    """CLIPScore = 100 * max(cos(image embedding, text embedding), 0), via open_clip.

    Parameters
    ----------
    model_name, pretrained : str
        open_clip model and weights tag (``open_clip.create_model_and_transforms``);
        used only when ``model`` is not given.
    model : optional
        An already built model with ``encode_image`` and ``encode_text``.
    tokenizer : callable, optional
        ``list[str] -> LongTensor``; default ``open_clip.get_tokenizer(model_name)``.
    preprocess : callable, optional
        ``PIL.Image -> Tensor[3, H, W]``; required with ``model``.
    batch_size : int
    device : str or torch.device

    Raises
    ------
    RuntimeError
        If the weights cannot be loaded (no network, not in the cache).
    """

    def __init__(self, model_name: str = "ViT-B-32", pretrained: str = "openai", *, model=None, tokenizer=None,
                 preprocess=None, batch_size: int = 16, device="cpu"):
        import open_clip

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if model is None:
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained)
            except Exception as exc:
                raise RuntimeError(
                    f"could not load open_clip {model_name!r} weights {pretrained!r} ({exc}). Download them once "
                    f"with network access (they go to the Hugging Face / torch hub cache, e.g. ~/.cache/huggingface), "
                    f"give a local checkpoint path as `pretrained`, or pass an already built model=, tokenizer=, "
                    f"preprocess=."
                ) from exc
        elif preprocess is None:
            raise ValueError("preprocess is required when passing a built model")
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer or open_clip.get_tokenizer(model_name)
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.device = device

    @torch.no_grad()
    def __call__(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> torch.Tensor:
        scores = []
        for sl in _batches(len(images), self.batch_size):
            pix = torch.stack([self.preprocess(im.convert("RGB")) for im in images[sl]]).to(self.device)
            tok = self.tokenizer(list(prompts[sl])).to(self.device)
            img = torch.nn.functional.normalize(self.model.encode_image(pix).float(), dim=-1)
            txt = torch.nn.functional.normalize(self.model.encode_text(tok).float(), dim=-1)
            scores.append(100.0 * (img * txt).sum(-1).clamp(min=0))
        return torch.cat(scores).cpu()


class PyIQA:
    """A pyiqa no-reference metric as a higher-is-better quality term.

    Parameters
    ----------
    metric : str
        pyiqa metric name: ``clipiqa`` (default, needs its weights), ``piqe``
        (no weights), ``musiq``, ``hpsv2`` is not no-reference and is not supported.
    min_size : int
        Images with a side smaller than this are resized up (bicubic) first;
        block-based metrics such as PIQE need at least 32-64 pixels.
    batch_size : int
    device : str

    Notes
    -----
    Lower-is-better metrics are turned around: PIQE (0-100) becomes
    ``1 - piqe / 100``; others become ``-score``.
    """

    def __init__(self, metric: str = "clipiqa", *, min_size: int = 64, batch_size: int = 16, device="cpu"):
        import pyiqa

        if metric not in pyiqa.list_models(metric_mode="NR"):
            raise ValueError(f"unknown no-reference pyiqa metric {metric!r}")
        try:
            self.metric = pyiqa.create_metric(metric, device=device)
        except Exception as exc:
            raise RuntimeError(
                f"could not load pyiqa metric {metric!r} ({exc}); its weights must be downloaded once with network "
                f"access into pyiqa's cache (~/.cache/torch/hub/pyiqa) or use metric='piqe', which needs none"
            ) from exc
        self.name, self.min_size, self.batch_size, self.device = metric, min_size, batch_size, device

    @torch.no_grad()
    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        out = []
        for sl in _batches(len(images), self.batch_size):
            x = pil_to_tensor(images[sl])
            h, w = x.shape[-2:]
            if min(h, w) < self.min_size:
                f = self.min_size / min(h, w)
                x = torch.nn.functional.interpolate(x, size=(round(h * f), round(w * f)), mode="bicubic",
                                                    align_corners=False).clamp(0, 1)
            s = self.metric(x.to(self.device)).reshape(-1).float().cpu()
            if self.name == "piqe":
                s = 1.0 - s / 100.0
            elif self.metric.lower_better:
                s = -s
            out.append(s)
        return torch.cat(out)


@dataclasses.dataclass(frozen=True)
class JAQResult:
    """Per-image JAQ and its terms (1-D tensors of length N) plus the mean JAQ."""

    jaq: torch.Tensor
    clip_score: torch.Tensor
    iqa: torch.Tensor
    mean: float

    def per_image(self) -> list[dict]:
        """``[{"jaq", "clip_score", "iqa"}, ...]`` as plain floats (bundle image metrics)."""
        return [{"jaq": float(j), "clip_score": float(c), "iqa": float(q)}
                for j, c, q in zip(self.jaq, self.clip_score, self.iqa)]


class JAQ:
    """Joint alignment + quality score.

    Parameters
    ----------
    text_image : callable ``(images, prompts) -> Tensor[N]``
        Alignment on the CLIPScore scale (100 * cosine); e.g. :class:`CLIPScore`.
    quality : callable ``images -> Tensor[N]``
        Higher-is-better quality; e.g. ``PyIQA("clipiqa")``.
    k : float
        Weight of the quality term (paper: 2).
    variant : {"linear", "log"}
        ``clip_score / 100 + k * iqa`` or ``log(clip_score) + k * iqa``.

    Examples
    --------
    >>> jaq = JAQ(text_image=CLIPScore(), quality=PyIQA("piqe"), k=2.0)
    >>> result = jaq.score(images, prompts)
    >>> result.jaq, result.mean
    """

    def __init__(self, text_image: Callable, quality: Callable, k: float = 2.0, variant: str = "linear"):
        if variant not in ("linear", "log"):
            raise ValueError(f"variant must be 'linear' or 'log', got {variant!r}")
        if not math.isfinite(k):
            raise ValueError(f"k must be finite, got {k}")
        self.text_image, self.quality, self.k, self.variant = text_image, quality, float(k), variant

    def combine(self, clip_score: torch.Tensor, iqa: torch.Tensor) -> torch.Tensor:
        """JAQ from the two terms (no model calls)."""
        align = clip_score / 100.0 if self.variant == "linear" else torch.log(clip_score.clamp(min=1e-6))
        return align + self.k * iqa

    def score(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> JAQResult:
        """Score images against their prompts.

        Parameters
        ----------
        images : list of PIL.Image
        prompts : list of str
            One prompt per image.

        Returns
        -------
        JAQResult
            Per-image ``jaq``, ``clip_score``, ``iqa`` and the ``mean`` JAQ.
        """
        if len(images) == 0:
            raise ValueError("no images to score")
        if len(images) != len(prompts):
            raise ValueError(f"got {len(images)} images but {len(prompts)} prompts; give one prompt per image")
        images, prompts = list(images), list(prompts)
        clip = torch.as_tensor(self.text_image(images, prompts), dtype=torch.float32).reshape(-1)
        iqa = torch.as_tensor(self.quality(images), dtype=torch.float32).reshape(-1)
        for name, t in (("text_image", clip), ("quality", iqa)):
            if t.numel() != len(images):
                raise ValueError(f"{name} term returned {t.numel()} scores for {len(images)} images")
        jaq = self.combine(clip, iqa)
        return JAQResult(jaq=jaq, clip_score=clip, iqa=iqa, mean=float(jaq.mean()))
