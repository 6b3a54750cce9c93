"""Read and validate a study bundle (contract section 1) without touching the database.

The rules are :mod:`formats.bundle`'s, the one validator that generation and the analysis
use too; this module adds only the platform's limits, read from the settings
``QSCHED_MAX_MANIFEST_BYTES`` and ``QSCHED_MAX_IMAGE_PIXELS``. :func:`load_bundle` returns a
:class:`BundleSpec`; the first broken rule raises :class:`BundleError` naming the entry
(``images[3]``) and the field (``sha256``). Nothing is written.
"""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from formats import bundle as _format
from formats.bundle import (
    BUNDLE_FORMAT,
    BundleError,
    BundleSpec,
    ComparisonSpec,
    ImageSpec,
    PromptSpec,
    SystemSpec,
)

__all__ = ["BUNDLE_FORMAT", "BundleError", "BundleSpec", "ComparisonSpec", "ImageSpec", "PromptSpec",
           "SystemSpec", "load_bundle"]


def load_bundle(bundle_dir: Path, *, progress: bool = False) -> BundleSpec:
    """Validate the bundle in ``bundle_dir`` (manifest and files) with the platform's limits.

    Parameters
    ----------
    bundle_dir : Path
        Directory holding ``manifest.json``.
    progress : bool
        Show a tqdm progress bar while the images are checked (command line use).

    Raises
    ------
    BundleError
        On the first broken rule of :mod:`formats.bundle`.
    """
    return _format.load_bundle(
        bundle_dir, progress=progress,
        max_manifest_bytes=settings.QSCHED_MAX_MANIFEST_BYTES, max_image_pixels=settings.QSCHED_MAX_IMAGE_PIXELS)
