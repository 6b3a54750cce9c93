"""Bearer tokens for annotator sessions. Only a token's sha256 is stored.

Every annotator request starts here, so :func:`annotator_for_token` is one hand-written query
(session -> annotator -> study) that loads only the study fields the annotator path uses: never
the bundle manifest (megabytes for a large bundle) nor the stored progress.
"""
import hashlib
import secrets

from django.db import connection

from studies.models import Study

from .models import Annotator, AnnotatorSession


def _in_model_order(model, names: set) -> tuple:
    # Model.from_db takes a subset of fields in the model's own order.
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


#: Loaded with the annotator on every request; other fields load on first use.
ANNOTATOR_FIELDS = _in_model_order(Annotator, {
    "id", "study_id", "pseudonym", "excluded", "checks_passed", "checks_failed", "regular_votes", "check_votes"})
STUDY_FIELDS = _in_model_order(Study, {
    "id", "slug", "status", "votes_per_pair", "allow_ties", "quota_per_annotator", "assignment_timeout_s",
    "attention_check_rate", "attention_min_votes_before_check", "exclude_after_failed_checks", "completion_code",
    "redirect_url", "screen_out_code", "gold_pairs"})
_BOOLEANS = {"excluded", "allow_ties"}  # SQLite returns 0/1


def new_token() -> str:
    """Return a fresh random token (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the hex sha256 under which ``token`` is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _lookup_sql() -> str:
    q = connection.ops.quote_name
    columns = [f"a.{q(name)}" for name in ANNOTATOR_FIELDS] + [f"s.{q(name)}" for name in STUDY_FIELDS]
    return (f"SELECT {', '.join(columns)} FROM {q(AnnotatorSession._meta.db_table)} t "
            f"JOIN {q(Annotator._meta.db_table)} a ON a.id = t.annotator_id "
            f"JOIN {q(Study._meta.db_table)} s ON s.id = a.study_id WHERE t.token_sha256 = %s")


def _model(model, names, values):
    return model.from_db(connection.alias, list(names),
                         [bool(v) if name in _BOOLEANS else v for name, v in zip(names, values)])


def annotator_for_token(token: str) -> Annotator | None:
    """Return the annotator (with ``annotator.study``) whose session ``token`` opens, or None."""
    if not token or len(token) > 200:
        return None
    from .statements import prepared_cursor

    with prepared_cursor() as cursor:
        cursor.execute(_lookup_sql(), [hash_token(token)])
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(ANNOTATOR_FIELDS)
    annotator = _model(Annotator, ANNOTATOR_FIELDS, row[:n])
    annotator.study = _model(Study, STUDY_FIELDS, row[n:])
    return annotator


def bearer_token(authorization_header: str) -> str:
    """Return the token of an ``Authorization: Bearer <token>`` header, or ''."""
    scheme, _, token = (authorization_header or "").partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()
