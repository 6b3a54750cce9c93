"""Generation's checks of the bundle format: the shared validator of :mod:`formats.bundle`.

``validate_bundle`` is the very check the platform's importer runs (manifest and
files), so a bundle that generation hands over is one the importer accepts; the
writers use :func:`check_id` and :func:`check_pairs` to refuse bad input before
any image is generated. ``python -m generation validate <bundle-dir>`` runs it.
"""

from __future__ import annotations

from formats.bundle import BUNDLE_FORMAT, BundleError, check_pairs, load_bundle
from formats.bundle import check_id as _check_id

__all__ = ["BUNDLE_FORMAT", "BundleError", "check_id", "check_pairs", "validate_bundle"]


def check_id(value, where: str) -> str:
    """Return ``value`` if it is a contract id (:mod:`formats.ids`), else raise :class:`BundleError` naming ``where``."""
    return _check_id(value, where)


def validate_bundle(bundle_dir, *, progress: bool = False) -> dict:
    """Check ``bundle_dir`` with the importer's validator and return its manifest.

    Raises
    ------
    BundleError
        On the first rule broken, naming the entry and the field.
    """
    return load_bundle(bundle_dir, progress=progress).manifest
