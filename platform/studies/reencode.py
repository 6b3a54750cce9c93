"""The bytes annotators are served: every image re-encoded at import into one format.

Rules
-----
- Every served image is a PNG in mode RGB, whatever the bundle held (PNG, JPEG, WebP;
  palette, grey, alpha). A system rendered as JPEG beside another's PNG, or a generator's
  text chunk (``parameters=model=...``), would tell an annotator which system made it.
- Pixels are kept: an RGB source decodes to exactly the same pixel values. Before that, the
  EXIF orientation is applied (what a browser would have shown) and transparency is
  composited on white (a browser shows a transparent image on the page's white).
- Nothing but the pixels is written: no text, EXIF, ICC, gamma or physical-size chunks
  (the encoder only writes IHDR, IDAT and IEND). Colour profiles are dropped, not converted:
  a bundle with non-sRGB profiles is shown as if it were sRGB.
- The original file is kept beside it (``Image.original``) for researchers; only the
  re-encoded copy is ever served.
- Gold checks (``annotate.attention``) pair an image with :func:`degraded_png` of itself:
  downscaled 4x and back, blurred and squeezed through JPEG at quality 10, so the right
  answer is plain to anyone who looks.
- Attention checks are served through :func:`fresh_png`: the same picture with one pixel's
  lowest bit flipped and another zlib level, so neither the file's hash nor a hash of its
  pixels matches any earlier serve.
"""
from __future__ import annotations

import io

import random

from PIL import Image as PILImage
from PIL import ImageFilter, ImageOps

__all__ = ["SERVED_CONTENT_TYPE", "SERVED_SUFFIX", "degraded_png", "fresh_png", "served_png"]

SERVED_SUFFIX = ".png"
SERVED_CONTENT_TYPE = "image/png"


def served_png(data: bytes, *, compress_level: int = 6) -> bytes:
    """Decode ``data`` (a PNG, JPEG or WebP already validated) and return it as a bare RGB PNG.

    Parameters
    ----------
    data : bytes
        The original file.
    compress_level : int
        zlib level 0-9. Different levels give different bytes for the same pixels.
    """
    with PILImage.open(io.BytesIO(data)) as img:
        img = ImageOps.exif_transpose(img)
        rgb = _flatten(img)
    bare = PILImage.frombytes("RGB", rgb.size, rgb.tobytes())  # a new image: no info, no profile
    out = io.BytesIO()
    bare.save(out, format="PNG", compress_level=compress_level, optimize=False)
    return out.getvalue()


def _flatten(img: PILImage.Image) -> PILImage.Image:
    if img.mode == "RGB":
        return img
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if not has_alpha:
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
    return PILImage.alpha_composite(white, rgba).convert("RGB")


def degraded_png(served: bytes) -> bytes:
    """A visibly worse copy of a served PNG, as a served PNG: downscaled, blurred, JPEG-squeezed."""
    with PILImage.open(io.BytesIO(served)) as img:
        rgb = img.convert("RGB")
    width, height = rgb.size
    small = rgb.resize((max(1, width // 4), max(1, height // 4)), PILImage.Resampling.BILINEAR)
    blurred = small.resize((width, height), PILImage.Resampling.BILINEAR).filter(
        ImageFilter.GaussianBlur(radius=max(1.5, min(width, height) / 128)))
    squeezed = io.BytesIO()
    blurred.save(squeezed, format="JPEG", quality=10)
    return served_png(squeezed.getvalue())


def fresh_png(served: bytes, rng: random.Random) -> bytes:
    """The same picture as ``served`` with bytes never served before: one pixel's lowest bit of
    one channel flipped (invisible) and a zlib level other than the stored file's."""
    with PILImage.open(io.BytesIO(served)) as img:
        pixels = bytearray(img.convert("RGB").tobytes())
        size = img.size
    pixels[rng.randrange(len(pixels))] ^= 1
    bare = PILImage.frombytes("RGB", size, bytes(pixels))
    out = io.BytesIO()
    bare.save(out, format="PNG", compress_level=rng.choice([1, 2, 3, 4, 5, 7, 8, 9]), optimize=False)
    return out.getvalue()
