"""JAQ: a reference-free Joint Alignment-Quality score for a set of generated images.

Criteria (``JAQ(variant=...)``, ``k = 2`` by default):

* ``paper`` (default; the paper's stated form and the released code's ``new``
  criterion): ``log(CLIPScore) + k * mean(IQA)`` where the set's CLIPScore is
  ``max(mean(100 * cos), 0)`` -- averaged first, clamped after, then the log of
  that mean is taken (torchmetrics' CLIPScore, which the released code uses).
  Faithful inputs: CLIP ViT-L/14 for the cosine (:class:`CLIPScore`'s default)
  and CLIP-IQA with the single "Good photo." / "Bad photo." antonym pair
  (``PyIQA("clipiqa", prompts=PAPER_IQA_PROMPTS)``).
* ``mean-log``: the mean over images of ``log(CLIPScore_i) + k * IQA_i``, each
  image clamped on its own. Not the paper's form: a mean of logs ranks sets
  differently from the log of a mean (CLIPScores [30, 30] vs [20, 41]).
* ``linear``: the mean over images of ``CLIPScore_i / 100 + k * IQA_i``.
* ``hpsv2``, ``aqmap``, ``kclip2``: the released code's other criteria (HPSv2.1,
  log CLIPScore + k * AQ-Map, AQ-Map + k * HPSv2.1). They need models this
  project does not ship; asking for one raises :class:`UnavailableCriterion`
  saying what to install.

Every image of a set counts once with equal weight (batches are slices of
consecutive images; the released code indexed batches by batch number and
scored only the first 9 of 25 images, weighted 1,2,3,4,5,4,3,2,1). Quality
metrics get float images in [0, 1].

Both terms are pluggable:

* text-image alignment: :class:`CLIPScore` (open_clip; any model, including an
  already built one such as the project's own small reference CLIP), or any
  callable ``(images, prompts) -> Tensor[N]`` on the per-image CLIPScore scale
  (``100 * max(cos, 0)``). Objects with a ``cosine100`` method (as
  :class:`CLIPScore` has) give the unclamped ``100 * cos``, which the ``paper``
  criterion averages before clamping; for plain callables the values given
  are averaged as they are.
* image quality: :class:`PyIQA` (pyiqa; ``clipiqa``, ``piqe`` needs no
  downloaded weights), or any callable ``images -> Tensor[N]`` where higher is
  better.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image

__all__ = ["CLIPScore", "PyIQA", "JAQ", "JAQResult", "pil_to_tensor", "VARIANTS", "UNAVAILABLE_CRITERIA",
           "UnavailableCriterion", "PAPER_CLIP_MODEL", "PAPER_IQA_PROMPTS", "equal_weight_batches"]

#: open_clip name and weights tag of the paper's CLIPScore model (CLIP ViT-L/14, OpenAI weights).
PAPER_CLIP_MODEL = ("ViT-L-14", "openai")
#: The single CLIP-IQA antonym pair of the paper (torchmetrics' "quality" prompt).
PAPER_IQA_PROMPTS = ("Good photo.", "Bad photo.")
#: Criteria this module computes.
VARIANTS = ("paper", "mean-log", "linear")
#: The released code's other criteria, with what they would need.
UNAVAILABLE_CRITERIA = {
    "hpsv2": "HPSv2.1 needs the `hpsv2` package (pip install hpsv2) and its HPS_v2.1_compressed.pt checkpoint "
             "(Hugging Face xswu/HPSv2) plus the open_clip ViT-H-14 laion2b weights",
    "aqmap": "AQ-Map (log CLIPScore + k * AQ-Map) needs the Q-Refine code (github.com/Q-Future/Q-Refine) and its "
             "quality-map weights",
    "kclip2": "kclip2 (AQ-Map + k * HPSv2.1) needs both the Q-Refine code and weights and the `hpsv2` package "
              "with its HPS_v2.1_compressed.pt checkpoint",
}
#: Floor of the CLIPScore before the log: a set (or image) whose CLIPScore clamps to 0 gets log(1e-6), not -inf.
LOG_FLOOR = 1e-6


class UnavailableCriterion(RuntimeError):
    """A JAQ criterion of the released code that needs models this project does not ship."""


def pil_to_tensor(images: Sequence[Image.Image]) -> torch.Tensor:
    """Stack PIL images (same size) into a float ``(N, 3, H, W)`` tensor in [0, 1]."""
    arrays = [np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0 for im in images]
    sizes = {a.shape for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"images in one batch must have the same size, got {sorted(sizes)}")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def equal_weight_batches(n: int, size: int):
    """Slices ``[0:size], [size:2*size], ...`` covering ``range(n)``: every index exactly once."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class CLIPScore:
    """Per-image CLIPScore = 100 * max(cos(image embedding, text embedding), 0), via open_clip.

    Parameters
    ----------
    model_name, pretrained : str
        open_clip model and weights tag (``open_clip.create_model_and_transforms``);
        used only when ``model`` is not given. Default: the paper's CLIP ViT-L/14
        with OpenAI weights.
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
        If the weights cannot be loaded (no network, not in the cache); the
        message says what to download.
    """

    def __init__(self, model_name: str = PAPER_CLIP_MODEL[0], pretrained: str = PAPER_CLIP_MODEL[1], *, model=None,
                 tokenizer=None, preprocess=None, batch_size: int = 16, device="cpu"):
        import open_clip

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        built = model
        if model is None:
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained)
            except Exception as exc:
                raise RuntimeError(_clip_download_hint(model_name, pretrained, exc)) from exc
        elif preprocess is None:
            raise ValueError("preprocess is required when passing a built model")
        self.name = (f"{model_name}/{pretrained}" if built is None else
                     f"{type(model).__name__}({sum(p.numel() for p in model.parameters())} parameters)")
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer or open_clip.get_tokenizer(model_name)
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.device = device

    @torch.no_grad()
    def cosine100(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> torch.Tensor:
        """``100 * cos(image, prompt)`` per image, not clamped (the paper clamps the set's mean)."""
        scores = []
        for sl in equal_weight_batches(len(images), self.batch_size):
            pix = torch.stack([self.preprocess(im.convert("RGB")) for im in images[sl]]).to(self.device)
            tok = self.tokenizer(list(prompts[sl])).to(self.device)
            img = torch.nn.functional.normalize(self.model.encode_image(pix).float(), dim=-1)
            txt = torch.nn.functional.normalize(self.model.encode_text(tok).float(), dim=-1)
            scores.append(100.0 * (img * txt).sum(-1))
        return torch.cat(scores).cpu()

    def __call__(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> torch.Tensor:
        return self.cosine100(images, prompts).clamp(min=0)


def _clip_download_hint(model_name: str, pretrained: str, exc: Exception) -> str:
    return (f"could not load open_clip {model_name!r} weights {pretrained!r} ({exc}). Download them once with "
            f"network access: python -c \"import open_clip; open_clip.create_model_and_transforms('{model_name}', "
            f"pretrained='{pretrained}')\" (they go to the Hugging Face cache, ~/.cache/huggingface; for ViT-L-14 "
            f"openai that is the repo timm/vit_large_patch14_clip_224.openai), then run with HF_HUB_OFFLINE=1; or "
            f"give a local checkpoint path as `pretrained`, or pass an already built model=, tokenizer=, preprocess=.")


class PyIQA:
    """A pyiqa no-reference metric as a higher-is-better quality term.

    Parameters
    ----------
    metric : str
        pyiqa metric name: ``clipiqa`` (needs OpenAI CLIP RN50 weights),
        ``piqe`` (no weights), ``musiq``...
    prompts : sequence of str, optional
        Only with ``clipiqa``: antonym pairs ``(positive, negative, positive,
        negative, ...)`` replacing pyiqa's five built-in pairs. pyiqa has no
        option for this: its ``CLIPIQA`` network keeps the tokenized pairs in
        ``prompt_pairs`` and averages the "positive" probability over pairs, so
        the tokens are replaced after the metric is built. The paper uses
        :data:`PAPER_IQA_PROMPTS`.
    min_size : int
        Images with a side smaller than this are resized up (bicubic) first;
        block-based metrics such as PIQE need at least 32-64 pixels.
    batch_size : int
    device : str

    Notes
    -----
    Images are given to pyiqa as float tensors in [0, 1] (pyiqa checks the
    range). Lower-is-better metrics are turned around: PIQE (0-100) becomes
    ``1 - piqe / 100``; others become ``-score``.
    """

    def __init__(self, metric: str = "clipiqa", *, prompts: Sequence[str] | None = None, min_size: int = 64,
                 batch_size: int = 16, device="cpu"):
        import pyiqa

        if metric not in pyiqa.list_models(metric_mode="NR"):
            raise ValueError(f"unknown no-reference pyiqa metric {metric!r}")
        if prompts is not None and (metric != "clipiqa" or len(prompts) < 2 or len(prompts) % 2
                                    or not all(isinstance(p, str) and p.strip() for p in prompts)):
            raise ValueError(f"prompts must be antonym pairs (an even number of non-empty texts) and only go with "
                             f"'clipiqa'; got {metric!r} with {prompts!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        try:
            self.metric = pyiqa.create_metric(metric, device=device)
        except Exception as exc:
            raise RuntimeError(_iqa_download_hint(metric, exc)) from exc
        if prompts is not None:
            from pyiqa.archs.clip_imports import clip

            self.metric.net.prompt_pairs = clip.tokenize(list(prompts))
        self.name, self.prompts = metric, tuple(prompts) if prompts is not None else None
        self.min_size, self.batch_size, self.device = min_size, batch_size, device

    @torch.no_grad()
    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        out = []
        for sl in equal_weight_batches(len(images), self.batch_size):
            x = pil_to_tensor(images[sl])  # float in [0, 1], never uint8
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


def _iqa_download_hint(metric: str, exc: Exception) -> str:
    if metric == "clipiqa":
        from torch.hub import get_dir

        return (f"could not load pyiqa metric 'clipiqa' ({exc}): it needs OpenAI's CLIP RN50 checkpoint. Download "
                f"https://openaipublic.azureedge.net/clip/models/afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b"
                f"63bc04b6762/RN50.pt once into {get_dir()}/clip/RN50.pt (pyiqa checks its sha256), or use "
                f"--iqa piqe, which needs no weights")
    return (f"could not load pyiqa metric {metric!r} ({exc}); its weights must be downloaded once with network "
            f"access into pyiqa's cache (~/.cache/torch/hub/pyiqa) or use metric='piqe', which needs none")


@dataclasses.dataclass(frozen=True)
class JAQResult:
    """Per-image terms (1-D tensors of length N) and the set's criterion value.

    Attributes
    ----------
    jaq : Tensor
        The criterion of each image taken alone.
    clip_score : Tensor
        Per-image CLIPScore, ``100 * max(cos, 0)``.
    cosine100 : Tensor
        Per-image ``100 * cos`` before clamping (what ``paper`` averages).
    iqa : Tensor
    mean : float
        The set's criterion: for ``paper`` ``log(max(mean(cosine100), 0)) + k * mean(iqa)``,
        for the others the mean of ``jaq``.
    """

    jaq: torch.Tensor
    clip_score: torch.Tensor
    iqa: torch.Tensor
    mean: float
    cosine100: torch.Tensor | None = None

    def per_image(self) -> list[dict]:
        """``[{"jaq", "clip_score", "iqa"}, ...]`` as plain floats (bundle image metrics)."""
        return [{"jaq": float(j), "clip_score": float(c), "iqa": float(q)}
                for j, c, q in zip(self.jaq, self.clip_score, self.iqa)]


class JAQ:
    """Joint alignment + quality criterion of a set of images.

    Parameters
    ----------
    text_image : callable ``(images, prompts) -> Tensor[N]``
        Alignment on the CLIPScore scale; e.g. :class:`CLIPScore` (its
        ``cosine100`` is used when present, see the module docstring).
    quality : callable ``images -> Tensor[N]``
        Higher-is-better quality; e.g. ``PyIQA("clipiqa", prompts=PAPER_IQA_PROMPTS)``.
    k : float
        Weight of the quality term (paper: 2).
    variant : {"paper", "mean-log", "linear"}
        See the module docstring. ``hpsv2``, ``aqmap`` and ``kclip2`` raise
        :class:`UnavailableCriterion`.

    Examples
    --------
    >>> jaq = JAQ(text_image=CLIPScore(), quality=PyIQA("clipiqa", prompts=PAPER_IQA_PROMPTS), k=2.0)
    >>> result = jaq.score(images, prompts)
    >>> result.mean          # log(max(mean(100 cos), 0)) + 2 * mean(CLIP-IQA)
    """

    def __init__(self, text_image: Callable, quality: Callable, k: float = 2.0, variant: str = "paper"):
        check_variant(variant)
        if not math.isfinite(k):
            raise ValueError(f"k must be finite, got {k}")
        self.text_image, self.quality, self.k, self.variant = text_image, quality, float(k), variant

    def combine(self, clip_score: torch.Tensor, iqa: torch.Tensor) -> torch.Tensor:
        """Per-image criterion from per-image CLIPScore (clamped) and quality (no model calls)."""
        if self.variant == "linear":
            return clip_score / 100.0 + self.k * iqa
        return torch.log(clip_score.clamp(min=LOG_FLOOR)) + self.k * iqa

    def aggregate(self, cosine100, iqa) -> dict:
        """The set's ``{"jaq", "clip_score", "iqa"}`` from per-image ``100 * cos`` and quality.

        Every image has the same weight. ``clip_score`` is the set's CLIPScore as
        the criterion defines it: ``max(mean(100 cos), 0)`` for ``paper``, the
        mean of per-image clamped scores otherwise.
        """
        cos = torch.as_tensor(cosine100, dtype=torch.float64).reshape(-1)
        q = torch.as_tensor(iqa, dtype=torch.float64).reshape(-1)
        if cos.numel() == 0 or cos.numel() != q.numel():
            raise ValueError(f"aggregate needs as many quality scores as CLIP scores (> 0), got {cos.numel()} "
                             f"and {q.numel()}")
        if self.variant == "paper":
            clip = max(float(cos.mean()), 0.0)
            jaq = math.log(max(clip, LOG_FLOOR)) + self.k * float(q.mean())
        else:
            clip = float(cos.clamp(min=0).mean())
            jaq = float(self.combine(cos.clamp(min=0), q).mean())
        return {"jaq": jaq, "clip_score": clip, "iqa": float(q.mean())}

    def describe(self) -> dict:
        """What produced the numbers (stored with cached per-image metrics)."""
        return {"variant": self.variant, "k": self.k, "text_image": _name(self.text_image),
                "quality": _name(self.quality)}

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
            Per-image ``jaq``, ``clip_score``, ``cosine100``, ``iqa`` and the set's criterion ``mean``.
        """
        if len(images) == 0:
            raise ValueError("no images to score")
        if len(images) != len(prompts):
            raise ValueError(f"got {len(images)} images but {len(prompts)} prompts; give one prompt per image")
        images, prompts = list(images), list(prompts)
        text_image = getattr(self.text_image, "cosine100", self.text_image)
        cos = torch.as_tensor(text_image(images, prompts), dtype=torch.float32).reshape(-1)
        iqa = torch.as_tensor(self.quality(images), dtype=torch.float32).reshape(-1)
        for name, t in (("text_image", cos), ("quality", iqa)):
            if t.numel() != len(images):
                raise ValueError(f"{name} term returned {t.numel()} scores for {len(images)} images")
        clip = cos.clamp(min=0)
        jaq = self.combine(clip, iqa)
        return JAQResult(jaq=jaq, clip_score=clip, iqa=iqa, mean=self.aggregate(cos, iqa)["jaq"], cosine100=cos)


def check_variant(variant: str) -> str:
    """``variant`` if this module computes it; a clear refusal otherwise."""
    if variant in UNAVAILABLE_CRITERIA:
        raise UnavailableCriterion(f"JAQ criterion {variant!r} is unavailable here: {UNAVAILABLE_CRITERIA[variant]}")
    if variant == "log":
        raise ValueError("JAQ variant 'log' was renamed: 'mean-log' is the mean of per-image logs (its old "
                         "behaviour), 'paper' is the log of the mean CLIPScore (the paper's form)")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)} (unavailable here: "
                         f"{', '.join(UNAVAILABLE_CRITERIA)}), got {variant!r}")
    return variant


def _name(term) -> str:
    if isinstance(term, CLIPScore):
        return f"CLIPScore({term.name})"
    if isinstance(term, PyIQA):
        return f"PyIQA({term.name}, prompts={list(term.prompts) if term.prompts else None})"
    return getattr(term, "__qualname__", type(term).__name__)
