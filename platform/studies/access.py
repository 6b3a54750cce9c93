"""Who may see and change which study: the owner, the members, and superusers."""
from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import Study

__all__ = ["can_access", "get_study_for_user", "studies_for_user"]


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
