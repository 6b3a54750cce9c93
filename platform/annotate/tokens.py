"""Bearer tokens for annotator sessions. Only a token's sha256 is stored."""
import hashlib
import secrets

from studies.models import STUDY_BULK_FIELDS

from .models import AnnotatorSession


def new_token() -> str:
    """Return a fresh random token (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the hex sha256 under which ``token`` is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_for_token(token: str) -> AnnotatorSession | None:
    """Return the session that ``token`` opens, or None when it opens none."""
    if not token or len(token) > 200:
        return None
    return (
        AnnotatorSession.objects.select_related("annotator__study")
        .defer(*(f"annotator__study__{name}" for name in STUDY_BULK_FIELDS))
        .filter(token_sha256=hash_token(token))
        .first()
    )


def bearer_token(authorization_header: str) -> str:
    """Return the token of an ``Authorization: Bearer <token>`` header, or ''."""
    scheme, _, token = (authorization_header or "").partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()
