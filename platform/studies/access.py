"""Who may do what with a study, declared once; every view, API, service and the admin asks here.

- The study's researchers (its owner, its members, and superusers) see it and run it: its pages and
  the researcher API, lifecycle moves, exports, reports, the study's question (:func:`can_access`,
  :func:`studies_for_user`, :func:`get_study_for_user`). Anyone else gets a 404, as for a study that
  does not exist.
- Only the owner (or a superuser) adds and removes members (:func:`can_manage_members`).
- Annotators are not users: they reach a study through its annotator API (``annotate``), never here.

The rule is written once, as the queryset of :func:`studies_for_user`; the checks on one study use it.
"""
from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import Study

__all__ = ["can_access", "can_manage_members", "get_study_for_user", "is_owner", "studies_for_user"]


def studies_for_user(user) -> QuerySet:
    """Studies ``user`` owns or was added to (every study for a superuser; none when anonymous)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Study.objects.none()
    if user.is_superuser:
        return Study.objects.all()
    ids = Study.objects.filter(Q(owner=user) | Q(members=user)).values("pk")
    return Study.objects.filter(pk__in=ids)


def get_study_for_user(user, slug: str) -> Study:
    """The study ``slug`` if ``user`` may see it.

    Raises
    ------
    Http404
        No such study, or one the user may not see (the two are not told apart).
    """
    try:
        return studies_for_user(user).select_related("owner").get(slug=slug)
    except Study.DoesNotExist:
        raise Http404(f"no study {slug!r}") from None


def can_access(user, study: Study) -> bool:
    """True if ``user`` owns ``study``, is a member, or is a superuser."""
    return studies_for_user(user).filter(pk=study.pk).exists()


def is_owner(user, study: Study) -> bool:
    """True if ``user`` is the study's owner (a superuser is not, unless they own it)."""
    return user is not None and study.owner_id == getattr(user, "pk", None)


def can_manage_members(user, study: Study) -> bool:
    """True if ``user`` may add and remove the study's members: its owner or a superuser."""
    return bool(getattr(user, "is_superuser", False)) or is_owner(user, study)
