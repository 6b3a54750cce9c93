"""Unpack an uploaded bundle zip safely (size limits, no zip-slip, no links) into a temporary folder."""
from __future__ import annotations

import contextlib
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings

from .bundle import BundleError

IGNORED_PREFIXES = ("__MACOSX/",)
CHUNK = 1024 * 1024
#: A member that unpacks to more than this many times its packed size (and over BOMB_MIN_BYTES)
#: is a decompression bomb: images are compressed already, and JSON packs ~10:1.
MAX_COMPRESSION_RATIO = 100
BOMB_MIN_BYTES = 1024 * 1024


@contextlib.contextmanager
def extracted_bundle(upload):
    """Check and extract ``upload`` (a zip) and yield the bundle directory inside it.

    The temporary folder is removed on exit. ``manifest.json`` may sit at the zip root
    or inside a single top-level folder.

    Raises
    ------
    BundleError
        Larger than ``settings.QSCHED_MAX_BUNDLE_BYTES`` (compressed or uncompressed), not a zip,
        a member name that is absolute or contains ``..``, a link, a member packed more than
        :data:`MAX_COMPRESSION_RATIO` to 1 (a decompression bomb), or no manifest.json.
    """
    limit = settings.QSCHED_MAX_BUNDLE_BYTES
    size = _size(upload)
    if size > limit:
        raise BundleError("upload", "size", f"the zip is {size} bytes, over the limit of {limit} bytes")
    fh = upload.open("rb") if hasattr(upload, "chunks") else upload
    fh.seek(0)
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError("upload", "zip", f"not a readable zip file ({exc})") from None
    with archive, tempfile.TemporaryDirectory(prefix="qsched-bundle-", dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        members = _checked_members(archive, limit)
        root = Path(tmp)
        for info, rel in members:
            target = root.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise BundleError(f"upload:{info.filename}", "zip", f"cannot be extracted ({exc})") from None
        yield _bundle_root(root, [rel for _, rel in members])


def _size(upload) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        pos = upload.tell()
        upload.seek(0, 2)
        size = upload.tell()
        upload.seek(pos)
    return int(size)


def _checked_members(archive: zipfile.ZipFile, limit: int) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    members, total = [], 0
    for info in archive.infolist():
        name = info.filename
        if name.startswith(IGNORED_PREFIXES):
            continue
        where = f"upload:{name}"
        if "\\" in name or "\x00" in name:
            raise BundleError(where, "name", "member names must use forward slashes and no NUL characters")
        rel = PurePosixPath(name)
        if rel.is_absolute() or (name[1:2] == ":") or ".." in rel.parts:
            raise BundleError(where, "name", "member path leaves the bundle (absolute or '..')")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BundleError(where, "name", "links are not allowed in a bundle")
        if info.is_dir():
            continue
        if mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode):
            raise BundleError(where, "name", "only regular files are allowed in a bundle")
        total += info.file_size
        if total > limit:
            raise BundleError("upload", "size", f"the unpacked bundle is over the limit of {limit} bytes")
        if info.file_size > BOMB_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise BundleError(where, "size", f"unpacks {info.compress_size} bytes into {info.file_size}: "
                                             f"over {MAX_COMPRESSION_RATIO}:1, refused as a decompression bomb")
        members.append((info, rel))
    return members


def _bundle_root(root: Path, names: list[PurePosixPath]) -> Path:
    if (root / "manifest.json").is_file():
        return root
    tops = {rel.parts[0] for rel in names if rel.parts}
    if len(tops) == 1:
        top = root / tops.pop()
        if (top / "manifest.json").is_file():
            return top
    raise BundleError("upload", "manifest.json", "not found at the zip root or inside a single top folder")
