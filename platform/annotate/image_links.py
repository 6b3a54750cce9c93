"""Opaque, signed image links: one per (assignment, side).

An ``<img>`` tag cannot send the session's Authorization header, so each image
an annotator is shown gets its own unguessable URL instead. The link names only
the assignment's random public id and the side, never the image, its system or
its file, and is signed so that no other link can be made up from it.
"""
import uuid

from django.core import signing
from django.urls import reverse

_SIGNER = signing.Signer(salt="annotate.image-link", sep=".")
SIDES = {"l": "left", "r": "right"}


def image_link_token(assignment_public_id: uuid.UUID, side: str) -> str:
    """Return the signed token for the ``side`` ("left"/"right") image of an assignment."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', not {side!r}")
    return _SIGNER.sign(f"{assignment_public_id.hex}{side[0]}")


def image_link_path(assignment_public_id: uuid.UUID, side: str) -> str:
    """Return the URL path serving the ``side`` image of an assignment."""
    return reverse("annotate-image", kwargs={"token": image_link_token(assignment_public_id, side)})


def read_image_link(token: str) -> tuple[uuid.UUID, str] | None:
    """Return (assignment public id, side) for a token, or None if it is not a valid link."""
    try:
        value = _SIGNER.unsign(token)
    except signing.BadSignature:
        return None
    if len(value) != 33 or value[-1] not in SIDES:
        return None
    try:
        return uuid.UUID(hex=value[:32]), SIDES[value[-1]]
    except ValueError:
        return None


def linked_file(assignment_public_id: uuid.UUID, side: str) -> str | None:
    """Storage name of the ``side`` image of an assignment, or None: one indexed lookup of one column
    (two images per task make this the most frequent annotator request)."""
    from django.db import connection

    from studies.models import Image

    from .models import Assignment
    from .statements import prepared_cursor

    column = {"left": "left_image_id", "right": "right_image_id"}[side]
    if connection.vendor != "postgresql":
        return Assignment.objects.filter(public_id=assignment_public_id).values_list(
            f"{side}_image__file", flat=True).first()
    q = connection.ops.quote_name
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT i.file FROM {q(Assignment._meta.db_table)} a JOIN {q(Image._meta.db_table)} i "
                       f"ON i.id = a.{column} WHERE a.public_id = %s", [assignment_public_id])
        row = cursor.fetchone()
    return row[0] if row else None
