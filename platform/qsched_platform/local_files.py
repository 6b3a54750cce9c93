"""What a one-machine install keeps on disk, made when the platform starts, never when settings are read.

Settings only name these paths: ``VAR_DIR``, ``MEDIA_ROOT``, ``STATIC_ROOT``, the embedded broker's
``QSCHED_BROKER_DIR`` (None with a broker server) and ``SECRET_KEY_FILE`` (None when ``SECRET_KEY``
is given). :func:`prepare_local_files` makes what is missing; the platform app's ``ready()``
(:mod:`qsched_platform.apps`) runs it in every process (web server, Celery worker, ``manage.py``, tests).
"""
from __future__ import annotations

from pathlib import Path

from .env import read_or_create_secret_key

__all__ = ["local_folders", "prepare_local_files"]


def local_folders(settings) -> list[Path]:
    """The folders the settings name that must exist before the first request, task or migration."""
    folders = [settings.VAR_DIR, settings.MEDIA_ROOT, settings.STATIC_ROOT]
    if settings.QSCHED_BROKER_DIR is not None:
        folders.append(settings.QSCHED_BROKER_DIR)
    return [Path(folder) for folder in folders]


def prepare_local_files(settings) -> None:
    """Make the folders, and without a ``SECRET_KEY`` the install's key file (mode 0600, made once).

    ``settings`` is ``django.conf.settings`` or a settings module; with no ``SECRET_KEY`` given,
    its ``SECRET_KEY`` is set to the key kept in ``SECRET_KEY_FILE`` (every process of one install
    reads the same key).
    """
    for folder in local_folders(settings):
        folder.mkdir(parents=True, exist_ok=True)
    if settings.SECRET_KEY_FILE is not None:
        settings.SECRET_KEY = read_or_create_secret_key(Path(settings.SECRET_KEY_FILE))
