"""Frechet distance between image sets (FID with Inception features, or any feature extractor).

``FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2})`` between Gaussians fitted
to the features of two image sets. With the standard Inception-v3 pool
features (torchmetrics' port of the TF-FID network) this is FID; with any other
extractor -- e.g. the project's small reference CLIP -- it is a
world-specific Frechet distance (comparable only with itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import linalg
from tqdm.auto import tqdm

__all__ = [
    "frechet_distance",
    "feature_statistics",
    "save_statistics",
    "load_statistics",
    "list_images",
    "folder_features",
    "fid_between",
    "InceptionFeatures",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Parameters
    ----------
    mu1, mu2 : array (D,)
    sigma1, sigma2 : array (D, D)
        Covariance matrices (symmetric positive semi-definite).
    eps : float
        Added to the diagonals when the product's square root is singular.

    Returns
    -------
    float
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape:
        raise ValueError(f"mean vectors differ in shape: {mu1.shape} vs {mu2.shape}")
    if s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"covariances must both be {(mu1.size, mu1.size)}, got {s1.shape} and {s2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag))} in sqrtm; covariances not PSD?")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of an ``(N, D)`` feature array, N >= 2."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need an (N, D) feature array with N >= 2, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def save_statistics(path, mu, sigma) -> None:
    """Save precomputed statistics as ``.npz`` with keys ``mu`` and ``sigma``."""
    np.savez(path, mu=np.asarray(mu), sigma=np.asarray(sigma))


def load_statistics(path) -> tuple[np.ndarray, np.ndarray]:
    """Load ``mu``/``sigma`` from an ``.npz`` written by :func:`save_statistics` (or clean-fid style)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"statistics file {str(p)!r} does not exist")
    with np.load(p) as d:
        if "mu" not in d or "sigma" not in d:
            raise ValueError(f"statistics file {str(p)!r} needs arrays 'mu' and 'sigma', has {sorted(d.files)}")
        return d["mu"], d["sigma"]


def list_images(folder) -> list[Path]:
    """Image files (png/jpg/jpeg/webp) under ``folder``, sorted, recursively."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"image folder {str(root)!r} does not exist")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"image folder {str(root)!r} holds no png/jpg/webp images")
    return files


class InceptionFeatures:
    """2048-d Inception-v3 pool features as used by FID (torchmetrics / torch-fidelity network).

    Needs the ``torch-fidelity`` package and its ``pt_inception-2015-12-05``
    weights (downloaded on first use, or given as ``weights_path``).

    Raises
    ------
    RuntimeError
        With what to install/download when the network cannot be built.
    """

    def __init__(self, weights_path: str | None = None, device: str = "cpu"):
        import importlib.util

        import torch

        try:
            if importlib.util.find_spec("torch_fidelity") is None:
                raise ModuleNotFoundError("the torch-fidelity package is not installed")
            from torchmetrics.image.fid import NoTrainInceptionV3

            self.net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                          feature_extractor_weights_path=weights_path).to(device)
        except Exception as exc:
            raise RuntimeError(
                f"Inception-v3 FID features are unavailable ({exc}). Install torch-fidelity "
                "(pip install torch-fidelity) and let it download pt_inception-2015-12-05-6726825d.pth once, or "
                "give its local path with --inception-weights; or pass another feature extractor."
            ) from exc
        self.torch, self.device = torch, device

    def __call__(self, images: Sequence[Image.Image]):
        arr = np.stack([np.asarray(im.convert("RGB"), np.uint8) for im in images])
        x = self.torch.from_numpy(arr).permute(0, 3, 1, 2).to(self.device)
        with self.torch.no_grad():
            return self.net(x).reshape(len(images), -1).cpu().numpy()


def folder_features(folder_or_files, extractor: Callable, batch_size: int = 32, progress: bool = True) -> np.ndarray:
    """Features of every image in a folder (or list of files), batched, with a progress bar."""
    files = list_images(folder_or_files) if not isinstance(folder_or_files, (list, tuple)) else list(folder_or_files)
    out = []
    for i in tqdm(range(0, len(files), batch_size), desc="features", unit="batch", disable=not progress):
        ims = []
        for f in files[i:i + batch_size]:
            with Image.open(f) as im:
                ims.append(im.convert("RGB"))
        out.append(np.asarray(extractor(ims), np.float64))
    return np.concatenate(out)


def fid_between(generated, reference, extractor: Callable | None = None, batch_size: int = 32,
                progress: bool = True) -> float:
    """Frechet distance of a generated image folder (or file list) against a reference.

    Parameters
    ----------
    generated : path or list of paths
    reference : path
        A folder of images, or an ``.npz`` of precomputed ``mu``/``sigma``
        (computed with the same extractor!).
    extractor : callable ``list[PIL.Image] -> array (N, D)``, optional
        Default: :class:`InceptionFeatures` (FID proper).
    """
    extractor = extractor or InceptionFeatures()
    mu_g, s_g = feature_statistics(folder_features(generated, extractor, batch_size, progress))
    ref = Path(reference) if not isinstance(reference, (list, tuple)) else None
    if ref is not None and ref.suffix == ".npz":
        mu_r, s_r = load_statistics(ref)
    else:
        mu_r, s_r = feature_statistics(folder_features(reference, extractor, batch_size, progress))
    return frechet_distance(mu_g, s_g, mu_r, s_r)
