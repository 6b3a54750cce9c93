"""Frechet distance against closed forms on Gaussians; folder helpers with a pluggable extractor."""

import numpy as np
import pytest
from PIL import Image
from scipy import linalg

from generation.fid import (
    InceptionFeatures,
    feature_statistics,
    fid_between,
    frechet_distance,
    load_statistics,
    save_statistics,
)


def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_diagonal_gaussians_match_the_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)
    assert expected == pytest.approx(1 + 6.25 + (10 - 6) + (5 - 4) + 0)


def test_general_gaussians_match_the_symmetric_closed_form():
    rng = np.random.default_rng(0)
    s1, s2 = _spd(rng, 6), _spd(rng, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    r1 = linalg.sqrtm(s1).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(r1 @ s2 @ r1).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-8)


def test_statistics_of_samples_converge_to_the_analytic_distance():
    rng = np.random.default_rng(1)
    s1, s2 = _spd(rng, 3) / 3, _spd(rng, 3) / 3
    mu1, mu2 = np.zeros(3), np.array([0.5, -0.5, 1.0])
    x = rng.multivariate_normal(mu1, s1, size=40000)
    y = rng.multivariate_normal(mu2, s2, size=40000)
    est = frechet_distance(*feature_statistics(x), *feature_statistics(y))
    assert est == pytest.approx(frechet_distance(mu1, s1, mu2, s2), rel=0.03)


def _write_images(folder, colors):
    folder.mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(colors):
        Image.new("RGB", (8, 8), tuple(int(v) for v in c)).save(folder / f"{i:03d}.png")


def mean_rgb(images):
    return np.stack([np.asarray(im, np.float64).mean(axis=(0, 1)) / 255 for im in images])


def test_folders_and_precomputed_statistics_give_the_same_distance(tmp_path):
    rng = np.random.default_rng(2)
    _write_images(tmp_path / "gen", rng.integers(0, 255, (20, 3)))
    _write_images(tmp_path / "ref", rng.integers(50, 200, (25, 3)))
    d = fid_between(tmp_path / "gen", tmp_path / "ref", extractor=mean_rgb, batch_size=7, progress=False)
    from generation.fid import folder_features

    save_statistics(tmp_path / "ref.npz", *feature_statistics(folder_features(tmp_path / "ref", mean_rgb, 5, False)))
    assert fid_between(tmp_path / "gen", tmp_path / "ref.npz", extractor=mean_rgb, progress=False) == pytest.approx(d)
    assert d > 0
    assert fid_between(tmp_path / "gen", tmp_path / "gen", extractor=mean_rgb, progress=False) == pytest.approx(0, abs=1e-9)
    mu, sigma = load_statistics(tmp_path / "ref.npz")
    assert mu.shape == (3,) and sigma.shape == (3, 3)


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match="covariances must both be"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="N >= 2"):
        feature_statistics(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="does not exist"):
        fid_between(tmp_path / "missing", tmp_path, extractor=mean_rgb)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no png/jpg/webp images"):
        fid_between(tmp_path / "empty", tmp_path, extractor=mean_rgb)
    np.savez(tmp_path / "bad.npz", m=np.zeros(2))
    with pytest.raises(ValueError, match="needs arrays 'mu' and 'sigma'"):
        load_statistics(tmp_path / "bad.npz")


def test_inception_features_without_torch_fidelity_or_weights_fail_clearly():
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="Install torch-fidelity"):
            InceptionFeatures()
    else:  # installed: only a bad weights path can be checked offline
        with pytest.raises(RuntimeError, match="Inception-v3 FID features are unavailable"):
            InceptionFeatures(weights_path="/nonexistent/pt_inception.pth")
