"""Copy bundle images into media storage, remembering what was written so a failed import can undo it."""
from __future__ import annotations

from pathlib import Path

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from tqdm import tqdm


class CopiedFiles:
    """Files written to ``storage`` during one import; :meth:`delete` removes them all again.

    The import copies the images just before its database transaction and calls :meth:`delete`
    when copying or the transaction fails, so a refused import leaves media storage as it was.
    """

    def __init__(self, storage=None):
        self.storage = storage or default_storage
        self.names: list[str] = []

    def iterate(self, items, progress: bool):
        return tqdm(items, desc="copying images", unit="img", disable=not progress)

    def copy(self, source: Path, name: str) -> str:
        """Store ``source`` under ``name`` (or a free variant of it) and return the stored name."""
        with open(source, "rb") as fh:
            stored = self.storage.save(name, File(fh, name=Path(name).name))
        self.names.append(stored)
        return stored

    def save(self, data: bytes, name: str) -> str:
        """Store ``data`` under ``name`` (or a free variant of it) and return the stored name."""
        stored = self.storage.save(name, ContentFile(data, name=Path(name).name))
        self.names.append(stored)
        return stored

    def delete(self) -> None:
        """Remove every file this import stored, and the study folders left empty."""
        folders = set()
        for name in reversed(self.names):
            self.storage.delete(name)
            folders.add(str(Path(name).parent))
        self.names.clear()
        for folder in sorted(folders, key=len, reverse=True):  # originals/ before its parent
            _remove_empty_dir(self.storage, folder)


def _remove_empty_dir(storage, folder: str) -> None:
    try:
        path = Path(storage.path(folder))
    except NotImplementedError:  # remote storage: folders are not real
        return
    try:
        path.rmdir()
    except OSError:
        pass  # not empty or already gone
