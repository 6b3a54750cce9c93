"""Writes on studies: create from a bundle (directory or zip), lifecycle, members.

Every function here is a small transaction with keyword-only arguments; callers (views,
API, management commands) only translate :class:`StudyError` into messages.
"""
from __future__ import annotations

import random
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from formats.ids import ID_RULE, is_id

from . import counters
from .access import can_access, can_manage_members
from .bundle import BundleError, BundleSpec, load_bundle
from .errors import MembershipError, StudyError, StudyStateError
from .lifecycle import check_transition
from .media import CopiedFiles
from .models import (Comparison, Criterion, Image, Prompt, Study, System, WorkItem, image_upload_path,
                     original_upload_path)
from .options import clean_options
from .reencode import SERVED_SUFFIX, degraded_png, served_png
from .size_leak import size_warnings
from .tasks import request_progress_refresh

__all__ = ["DEFAULT_QUESTIONS", "BundleError", "MembershipError", "StudyError", "StudyStateError",
           "add_member", "create_study_from_bundle", "create_study_from_zip", "remove_member", "set_status"]

DEFAULT_QUESTIONS = {
    "overall": "Which image do you prefer overall?",
    "alignment": "Which image matches the text better?",
    "quality": "Which image has the higher visual quality (ignoring the text)?",
}

def create_study_from_bundle(*, bundle_dir, slug: str, owner, criteria=None, launch: bool = False,
                             progress: bool = False, **options) -> Study:
    """Validate a bundle directory and import it as a new study, all or nothing.

    Parameters
    ----------
    bundle_dir : Path or str
        Directory with ``manifest.json`` (contract section 1).
    slug : str
        URL name of the new study (the ``Study.slug`` field: 1-64 of ``A-Z a-z 0-9 - _``), unique.
    owner : User
        The researcher who owns the study.
    criteria : list of dict or str, optional
        ``[{"key": "overall", "question": "..."}]``; a bare key (or a dict without a question)
        takes its question from :data:`DEFAULT_QUESTIONS`. ``None`` means ``["overall"]``.
    launch : bool
        Start the study live instead of as a draft.
    progress : bool
        Show tqdm progress bars (command line use).
    **options
        The study's options (``votes_per_pair``, ``quota_per_annotator``, ``attention_check_rate``,
        ``gold_pairs``, ...): ``Study`` fields, with the defaults, ranges and meaning declared there
        (:mod:`studies.options` lists them). ``gold_pairs`` images (drawn at random among those in a
        comparison) get a visibly degraded copy for gold checks (``annotate.attention``).

    Returns
    -------
    Study
        With systems, prompts, images (each re-encoded as a bare PNG under an opaque name, the
        original kept beside it; see ``studies.reencode``), ``import_warnings`` (e.g. file size
        predicts the system, see ``studies.size_leak``),
        one comparison per (listed pair, prompt, seed) and one work item per
        (comparison, criterion).

    Raises
    ------
    BundleError
        The bundle breaks a rule; nothing was written.
    StudyError
        A bad option (slug taken, bad k, bad criteria, ...); nothing was written.
    TypeError
        ``options`` names something that is not a study option.
    """
    options = {**_clean_identity(slug=slug, owner=owner), **clean_options(options)}
    criteria = _clean_criteria(criteria)
    spec = load_bundle(Path(bundle_dir), progress=progress)
    copied = CopiedFiles()
    try:
        # Files first, outside the transaction, so the database is locked only for the inserts.
        stored = _store_files(spec, options, copied, progress)
        return _insert_study(spec, options, criteria, stored, launch=launch)
    except IntegrityError as exc:
        copied.delete()
        if Study.objects.filter(slug=slug).exists():
            raise StudyError(f"slug: a study named {slug!r} already exists") from None
        raise StudyError(f"the bundle could not be stored ({exc})") from exc
    except BaseException:
        copied.delete()
        raise


def _store_files(spec: BundleSpec, options: dict, copied: CopiedFiles, progress: bool) -> list[tuple]:
    """Copy the bundle's images (and the gold copies) into storage; ``options["gold_pairs"]`` becomes
    the number of gold copies made. Returns what :func:`_copy_images` returns."""
    gold = _gold_sources(spec, options["gold_pairs"])
    options["gold_pairs"] = len(gold)
    return _copy_images(options["slug"], spec, copied, progress, gold)


@transaction.atomic
def _insert_study(spec: BundleSpec, options: dict, criteria: list[dict], stored: list[tuple], *,
                  launch: bool) -> Study:
    """The study row and everything the bundle brings, in one transaction."""
    sizes = {(item.system, item.prompt, item.seed): row[3] for item, row in zip(spec.images, stored)}
    study = Study.objects.create(
        **{**options, "name": options["name"] or spec.name},
        bundle_name=spec.name, manifest=spec.manifest, import_warnings=size_warnings(sizes),
        status=Study.Status.LIVE if launch else Study.Status.DRAFT,
        launched_at=timezone.now() if launch else None,
    )
    _import_spec(study, spec, criteria, stored)
    request_progress_refresh(study)  # the study page shows 0 of the target at once
    return study


def create_study_from_zip(*, upload, slug: str, owner, **options) -> Study:
    """Import a zipped bundle (uploaded in the browser) as a new study, all or nothing.

    Parameters
    ----------
    upload : UploadedFile or binary file object
        The zip. ``manifest.json`` may be at its root or inside one top folder.
    slug, owner, **options
        As for :func:`create_study_from_bundle`.

    Raises
    ------
    BundleError
        Too large (compressed or uncompressed, see ``settings.QSCHED_MAX_BUNDLE_BYTES``),
        not a zip, unsafe member names or links, or any bundle error.
    """
    from .zipbundle import extracted_bundle

    with extracted_bundle(upload) as bundle_dir:
        return create_study_from_bundle(bundle_dir=bundle_dir, slug=slug, owner=owner, **options)


@transaction.atomic
def set_status(*, study: Study, status: str, by) -> Study:
    """Move a study through draft -> live <-> paused -> closed (the moves of :mod:`studies.lifecycle`).

    Parameters
    ----------
    study : Study
    status : str
        ``"live"``, ``"paused"``, ``"closed"`` (or ``"draft"``, which nothing moves back to).
    by : User or None
        Who asks; must own the study, be a member or a superuser. ``None`` for the
        command line (no check).

    Raises
    ------
    StudyStateError
        Unknown status or a transition that is not allowed.
    PermissionDenied
        ``by`` may not change this study.
    """
    if by is not None and not can_access(by, study):
        raise PermissionDenied(f"{by} may not change study {study.slug!r}")
    locked = Study.objects.select_for_update().get(pk=study.pk)
    check_transition(slug=locked.slug, current=locked.status, target=status)
    locked.status = status
    fields = ["status"]
    if status == Study.Status.LIVE and locked.launched_at is None:
        locked.launched_at = timezone.now()
        fields.append("launched_at")
    if status == Study.Status.CLOSED:
        locked.closed_at = timezone.now()
        fields.append("closed_at")
    locked.save(update_fields=fields)
    for name in fields:
        setattr(study, name, getattr(locked, name))
    return study


def add_member(*, study: Study, username: str, by):
    """Give the researcher ``username`` access to ``study``; only the owner (or a superuser) may.

    Returns
    -------
    User
        The added member.

    Raises
    ------
    PermissionDenied
        ``by`` is not the owner.
    MembershipError (a ValueError)
        No such user, the owner themself, or already a member.
    """
    _check_owner(study, by)
    user = _user(username)
    if user.pk == study.owner_id:
        raise MembershipError(f"{user.username} owns the study already")
    if study.members.filter(pk=user.pk).exists():
        raise MembershipError(f"{user.username} is already a member")
    study.members.add(user)
    return user


def remove_member(*, study: Study, username: str, by):
    """Take access to ``study`` away from ``username``; only the owner (or a superuser) may.

    Raises
    ------
    PermissionDenied
        ``by`` is not the owner.
    MembershipError (a ValueError)
        No such user or not a member.
    """
    _check_owner(study, by)
    user = _user(username)
    if not study.members.filter(pk=user.pk).exists():
        raise MembershipError(f"{user.username} is not a member of {study.slug!r}")
    study.members.remove(user)
    return user


# -- helpers ----------------------------------------------------------------------------------

def _gold_sources(spec: BundleSpec, n: int) -> set[int]:
    """Indices into spec.images of ``n`` images (at random, among those in a comparison) for gold checks."""
    compared = {id(c.image_a) for c in spec.comparisons} | {id(c.image_b) for c in spec.comparisons}
    candidates = [i for i, item in enumerate(spec.images) if id(item) in compared]
    return set(random.SystemRandom().sample(candidates, min(n, len(candidates))))


def _copy_images(slug: str, spec: BundleSpec, copied: CopiedFiles, progress: bool, gold: set[int]) -> list[tuple]:
    """Store every image twice under opaque names: re-encoded for annotators, and as imported;
    images in ``gold`` also get a degraded copy.

    Returns (public_id, served name, original name, served size in bytes, degraded copy as
    (public_id, name) or None) per spec.images entry.
    """
    placeholder = Study(slug=slug)
    stored = []
    for index, item in enumerate(copied.iterate(spec.images, progress)):
        image = Image(study=placeholder)  # draws a fresh public_id
        served = served_png(item.file.read_bytes())
        served_name = copied.save(served, image_upload_path(image, SERVED_SUFFIX))
        original_name = copied.copy(item.file, original_upload_path(image, item.suffix))
        degraded = None
        if index in gold:
            copy = Image(study=placeholder)
            degraded = (copy.public_id, copied.save(degraded_png(served), image_upload_path(copy, SERVED_SUFFIX)))
        stored.append((image.public_id, served_name, original_name, len(served), degraded))
    return stored


def _import_spec(study: Study, spec: BundleSpec, criteria: list[dict], stored: list[tuple]) -> None:
    crits = Criterion.objects.bulk_create(
        [Criterion(study=study, key=c["key"], question=c["question"], position=i) for i, c in enumerate(criteria)])
    systems = {s.key: s for s in System.objects.bulk_create(
        [System(study=study, key=s.key, label=s.label, metrics=s.metrics, config=s.config) for s in spec.systems])}
    prompts = {p.key: p for p in Prompt.objects.bulk_create(
        [Prompt(study=study, key=p.key, text=p.text) for p in spec.prompts])}
    images, copies = [], []
    for item, (public_id, served_name, original_name, _, degraded) in zip(spec.images, stored, strict=True):
        image = Image(study=study, system=systems[item.system], prompt=prompts[item.prompt], seed=item.seed,
                      public_id=public_id, bundle_path=item.path, sha256=item.sha256, metrics=item.metrics)
        image.file.name = served_name
        image.original.name = original_name
        images.append(image)
        if degraded is not None:
            copies.append((image, degraded))
    Image.objects.bulk_create(images, batch_size=500)
    image_ids = dict(Image.objects.filter(study=study).values_list("public_id", "id"))
    gold_copies = []
    for source, (public_id, name) in copies:
        copy = Image(study=study, system=source.system, prompt=source.prompt, seed=source.seed, public_id=public_id,
                     bundle_path=source.bundle_path, degraded_from_id=image_ids[source.public_id])
        copy.file.name = name
        gold_copies.append(copy)
    Image.objects.bulk_create(gold_copies, batch_size=500)
    by_spec = {(i.system.key, i.prompt.key, i.seed): image_ids[i.public_id] for i in images}
    Comparison.objects.bulk_create([
        Comparison(study=study, prompt=prompts[c.prompt], seed=c.seed,
                   image_a_id=by_spec[(c.image_a.system, c.prompt, c.seed)],
                   image_b_id=by_spec[(c.image_b.system, c.prompt, c.seed)])
        for c in spec.comparisons], batch_size=1000)
    comparison_ids = Comparison.objects.filter(study=study).values_list("id", flat=True)
    # Each item draws its random deal_rank (WorkItem.deal_rank): the hand-out order is not the bundle's.
    items = WorkItem.objects.bulk_create(
        [WorkItem(study=study, comparison_id=cid, criterion=crit) for cid in comparison_ids for crit in crits],
        batch_size=2000)
    counters.start(study, work_items=len(items))


def _clean_identity(*, slug, owner) -> dict:
    """The new study's slug (the ``Study.slug`` field's rule, and free) and owner (an existing user)."""
    try:
        if not isinstance(slug, str):
            raise ValidationError("not a string")
        Study._meta.get_field("slug").clean(slug, None)
    except ValidationError:
        raise StudyError(f"slug: {slug!r} must be 1-64 characters of A-Z a-z 0-9 - _") from None
    if Study.objects.filter(slug=slug).exists():
        raise StudyError(f"slug: a study named {slug!r} already exists")
    if owner is None or not getattr(owner, "pk", None):
        raise StudyError("owner: a study needs an existing user as owner")
    return {"slug": slug, "owner": owner}


def _clean_criteria(criteria) -> list[dict]:
    if criteria is None:
        criteria = ["overall"]
    if isinstance(criteria, str) or not list(criteria):
        raise StudyError("criteria: give a non-empty list of criteria, e.g. ['overall', 'alignment']")
    cleaned, seen = [], set()
    for i, item in enumerate(criteria):
        if isinstance(item, str):
            item = {"key": item}
        if not isinstance(item, dict):
            raise StudyError(f"criteria[{i}]: must be a key or {{'key': ..., 'question': ...}}, got {item!r}")
        key = str(item.get("key", "")).strip()
        if not is_id(key):
            raise StudyError(f"criteria[{i}].key: {key!r} must be {ID_RULE}")
        if key in seen:
            raise StudyError(f"criteria[{i}].key: duplicate criterion {key!r}")
        seen.add(key)
        question = str(item.get("question") or "").strip() or DEFAULT_QUESTIONS.get(key, "")
        if not question:
            raise StudyError(f"criteria[{i}].question: criterion {key!r} has no default question; write one")
        if len(question) > 300:
            raise StudyError(f"criteria[{i}].question: at most 300 characters, got {len(question)}")
        cleaned.append({"key": key, "question": question})
    return cleaned


def _check_owner(study: Study, by) -> None:
    if by is None or not can_manage_members(by, study):
        raise PermissionDenied(f"only the owner of {study.slug!r} manages its members")


def _user(username: str):
    username = (username or "").strip()
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise MembershipError(f"no user named {username!r}") from None
