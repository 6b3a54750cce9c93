"""The world's image-text scorer: a tiny CLIP (open_clip architecture) trained
contrastively on the shapes world.

It is used as the JAQ text-image term (it *is* an open_clip ``CLIP`` model,
with a tokenizer and a preprocess transform like ``open_clip.create_model_and_transforms``
returns) and as the feature extractor of the world's Frechet distance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from .tokenizer import build_tokenizer

__all__ = ["CONFIG_PATH", "DEFAULT_WEIGHTS", "ShapesScorer", "build_clip", "load_scorer"]

CONFIG_PATH = Path(__file__).parent / "configs" / "scorer.json"
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "scorer"


def build_clip(config: dict | None = None):
    """An untrained ``open_clip.model.CLIP`` from the JSON config (default: ``configs/scorer.json``)."""
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    cfg = config or json.loads(CONFIG_PATH.read_text())
    return CLIP(
        embed_dim=cfg["embed_dim"],
        vision_cfg=CLIPVisionCfg(**cfg["vision_cfg"]),
        text_cfg=CLIPTextCfg(**cfg["text_cfg"]),
    )


class _Tokenize:
    """open_clip-style tokenizer: ``tok(list_of_texts) -> LongTensor [n, context_length]``."""

    def __init__(self, context_length: int):
        self.context_length = context_length
        self._tok = build_tokenizer(context_length)

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None) -> torch.Tensor:
        if isinstance(texts, str):
            texts = [texts]
        n = context_length or self.context_length
        ids = self._tok(list(texts), padding="max_length", max_length=n, truncation=True).input_ids
        out = torch.tensor(ids, dtype=torch.long)
        # keep <eot> (highest id, where open_clip pools) even when a text is truncated
        eot = self._tok.eos_token_id
        out[(out == eot).sum(1) == 0, -1] = eot
        return out


class _Preprocess:
    """PIL image -> normalised ``[3, s, s]`` tensor (like open_clip's preprocess)."""

    def __init__(self, image_size: int):
        self.image_size = image_size

    def __call__(self, image: Image.Image) -> torch.Tensor:
        if not isinstance(image, Image.Image):
            raise TypeError(f"preprocess expects a PIL image, got {type(image).__name__}")
        im = image.convert("RGB")
        if im.size != (self.image_size, self.image_size):
            im = im.resize((self.image_size, self.image_size), Image.BOX)
        arr = np.asarray(im, dtype=np.float32) / 127.5 - 1.0
        return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


@dataclass
class ShapesScorer:
    """A trained tiny CLIP with its tokenizer and preprocess.

    Attributes
    ----------
    model : open_clip.model.CLIP
    tokenizer : callable, ``list[str] -> LongTensor``
    preprocess : callable, ``PIL.Image -> Tensor [3, 32, 32]``
    """

    model: torch.nn.Module
    tokenizer: _Tokenize
    preprocess: _Preprocess

    def _images_tensor(self, images) -> torch.Tensor:
        """``[n, 3, s, s]`` in [-1, 1] at the scorer's input size ``s`` (larger images are box-averaged down)."""
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        if not isinstance(images, torch.Tensor):
            return torch.stack([self.preprocess(im) for im in images])
        s = self.preprocess.image_size
        if images.shape[-2:] != (s, s):
            images = torch.nn.functional.interpolate(images, size=(s, s), mode="area")
        return images

    @torch.no_grad()
    def image_features(self, images, normalize: bool = True, batch_size: int = 256) -> torch.Tensor:
        """Embeddings ``[n, d]`` of PIL images, a uint8 ``[n, h, w, 3]`` array or a ``[n, 3, h, w]`` tensor
        in [-1, 1]; every image is box-averaged to the scorer's input size (32x32) first, as a 64x64
        world render box-averaged by 2 is a 32x32 render of the same scene."""
        x = self._images_tensor(images)
        feats = [self.model.encode_image(x[i:i + batch_size], normalize=normalize)
                 for i in range(0, len(x), batch_size)]
        return torch.cat(feats) if feats else torch.empty(0, self.model.text_projection.shape[1])

    @torch.no_grad()
    def text_features(self, texts: Sequence[str], normalize: bool = True) -> torch.Tensor:
        """Embeddings ``[n, d]`` of captions."""
        return self.model.encode_text(self.tokenizer(list(texts)), normalize=normalize)

    def similarity(self, images, texts: Sequence[str]) -> torch.Tensor:
        """Cosine similarity matrix ``[n_images, n_texts]``."""
        return self.image_features(images) @ self.text_features(texts).T

    def clip_score(self, images, texts: Sequence[str]) -> torch.Tensor:
        """CLIPScore per (image, text) pair: ``100 * max(cos, 0)``."""
        if len(images) != len(texts):
            raise ValueError(f"got {len(images)} images but {len(texts)} texts; they are paired")
        img, txt = self.image_features(images), self.text_features(texts)
        return 100.0 * (img * txt).sum(-1).clamp(min=0)


def load_scorer(path: str | Path = DEFAULT_WEIGHTS) -> ShapesScorer:
    """Load the shipped (or a retrained) scorer from ``path`` (``config.json`` + ``model.safetensors``)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(
            f"no scorer weights at {path / 'model.safetensors'}; train them with "
            "`python -m generation.reference.train_scorer`"
        )
    cfg = json.loads((path / "config.json").read_text())
    model = build_clip(cfg)
    model.load_state_dict(load_file(path / "model.safetensors"))
    model.eval()
    return ShapesScorer(model, _Tokenize(cfg["text_cfg"]["context_length"]),
                        _Preprocess(cfg["vision_cfg"]["image_size"]))


def save_scorer(model: torch.nn.Module, config: dict, path: str | Path) -> Path:
    """Write ``config.json`` + ``model.safetensors`` under ``path``."""
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path / "model.safetensors")
    return path
