"""Opaque image links: one per (assignment, side), good only for the task's holder and while it is open.

Rules
-----
- A link names only the assignment's random public id and the side, signed so that no
  other link can be made up from it; never the image, its system or its file.
- The link is not a secret and grants nothing by itself: an image is served only with the
  session's ``Authorization: Bearer <token>`` header, and only to the annotator holding the
  assignment (the voting page fetches images with the header and shows them as ``blob:``
  URLs). So a link that reaches a web server's access log, a browser history or another
  person opens nothing; the bearer token travels in a header, which access logs do not record.
- An attention check's images (gold or repeat) are not served from the stored file but as
  fresh bytes (``studies.reencode.fresh_png``), so a repeat's hashes never match its first
  showing. The change is derived from the link (keyed with ``SECRET_KEY``), so fetching the
  same link twice gives the same bytes, and every image is sent with the same headers
  (:data:`IMAGE_CACHE_CONTROL`): a script cannot spot a check by re-fetching it or by its
  headers.
- A link stops working :data:`settings.QSCHED_IMAGE_LINK_GRACE_S` seconds (default 60)
  after its task was voted on or expired, or after the study closed; a draft study serves
  nothing. Every refusal is the same plain 404.
"""
import hashlib
import hmac
import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import connection
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from studies.models import Study
from studies.reencode import fresh_png

from .models import Assignment
from .tokens import annotator_for_token, bearer_token, hash_token

_SIGNER = signing.Signer(salt="annotate.image-link", sep=".")
SIDES = {"l": "left", "r": "right"}
IMAGE_CACHE_CONTROL = "private, max-age=3600"  # the same for every image, checks included


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


def image_for_request(request, token: str) -> tuple[str, bool]:
    """(The storage name of the image a request for the link ``token`` may see, whether to serve it
    as fresh bytes (:func:`fresh_image_bytes` with ``token``, attention checks) rather than its
    stored file), or :class:`Http404`.

    Raises
    ------
    Http404
        A forged link, no session or someone else's assignment, or a link past its grace
        period (task voted on or expired, study closed); always the same answer.

    Two images per task make this the most frequent annotator request: on PostgreSQL it is one
    statement (session, annotator's study, assignment, image file, vote time), planned once per
    connection (``statements.prepared_cursor``); elsewhere two indexed queries.
    """
    link = read_image_link(token)
    bearer = bearer_token(request.headers.get("Authorization", ""))
    if link is None or not bearer or len(bearer) > 200:
        raise Http404("no such image")
    public_id, side = link
    row = _image_row(bearer, public_id, side)
    if row is None:
        raise Http404("no such image")
    name, attention_check, status, expires_at, voted_at, study_status, closed_at = row
    if not link_is_open(status, expires_at, voted_at, study_status, closed_at, now=timezone.now()):
        raise Http404("no such image")
    return name, bool(attention_check)


def _image_row(bearer: str, public_id: uuid.UUID, side: str) -> tuple | None:
    """(file, attention_check, status, expires_at, voted_at, study status, study closed_at) of the
    assignment ``public_id`` if the session ``bearer`` holds it, else None."""
    if connection.vendor != "postgresql":
        annotator = annotator_for_token(bearer)
        if annotator is None:
            return None
        return (Assignment.objects.filter(public_id=public_id, annotator_id=annotator.pk)
                .values_list(f"{side}_image__file", "attention_check", "status", "expires_at", "vote__created_at",
                             "annotator__study__status", "annotator__study__closed_at").first())
    from studies.models import Image

    from .models import Annotator, AnnotatorSession, Vote
    from .statements import prepared_cursor

    q = connection.ops.quote_name
    column = {"left": "left_image_id", "right": "right_image_id"}[side]
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT i.file, a.attention_check, a.status, a.expires_at, v.created_at, st.status, st.closed_at "
            f"FROM {q(AnnotatorSession._meta.db_table)} t "
            f"JOIN {q(Assignment._meta.db_table)} a ON a.annotator_id = t.annotator_id "
            f"JOIN {q(Annotator._meta.db_table)} an ON an.id = t.annotator_id "
            f"JOIN {q(Study._meta.db_table)} st ON st.id = an.study_id "
            f"JOIN {q(Image._meta.db_table)} i ON i.id = a.{column} "
            f"LEFT JOIN {q(Vote._meta.db_table)} v ON v.assignment_id = a.id "
            f"WHERE t.token_sha256 = %s AND a.public_id = %s", [hash_token(bearer), public_id])
        return cursor.fetchone()


def fresh_image_bytes(name: str, token: str) -> bytes:
    """The stored image's picture as PNG bytes that differ from the stored file (one invisible bit
    changed), the same for every request of the link ``token`` and different between links."""
    key = hmac.new(settings.SECRET_KEY.encode(), f"fresh-image:{token}".encode(), hashlib.sha256).digest()
    with default_storage.open(name, "rb") as fh:
        return fresh_png(fh.read(), random.Random(key))


def link_is_open(status: str, expires_at, voted_at, study_status: str, closed_at, *, now) -> bool:
    """Whether an assignment's images may still be served at ``now`` (grace period included)."""
    grace = timedelta(seconds=settings.QSCHED_IMAGE_LINK_GRACE_S)
    if study_status == Study.Status.DRAFT:
        return False
    if study_status == Study.Status.CLOSED and (closed_at is None or now > closed_at + grace):
        return False
    if status == Assignment.Status.VOTED:
        return voted_at is not None and now <= voted_at + grace
    return now <= expires_at + grace  # issued, or expired at expires_at
