"""Progress of a study: votes collected against the target, annotators, a first result table.

Computed by the Celery task :func:`studies.tasks.refresh_progress`, never inside a request;
pages read the stored ``study.progress``.
"""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from .export import counted_votes
from .models import Criterion, Study, WorkItem

__all__ = ["ACTIVE_WINDOW", "compute_progress"]

#: An annotator who voted within this window counts as active.
ACTIVE_WINDOW = timedelta(minutes=10)


def compute_progress(study: Study) -> dict:
    """Count what a study has collected so far.

    Returns
    -------
    dict
        ``target`` (work items x k), ``collected`` (votes), ``by_criterion`` (the same per
        criterion, with its question), ``annotators_total`` (annotators who joined),
        ``annotators_active`` (voted in the last 10 minutes), ``pair_table`` (per criterion and
        system pair a/b as listed in the bundle: a_wins, b_wins, ties) and ``computed_at``.
        ``collected`` counts the valid votes that fill the target: regular votes of annotators
        not excluded (an exclusion re-opens the excluded annotator's slots, ``annotate.recollect``;
        attention checks are counted apart in ``attention_checks``). The pair table counts
        only votes that are not attention checks, from annotators not excluded (contract
        section 3).
    """
    from annotate.models import Annotator, Vote

    now = timezone.now()
    k = study.votes_per_pair
    items = dict(WorkItem.objects.filter(study=study).values("criterion").annotate(n=Count("id"))
                 .values_list("criterion", "n"))
    votes = dict(Vote.objects.filter(study=study, **counted_votes()).values("criterion")
                 .annotate(n=Count("id")).values_list("criterion", "n"))
    by_criterion = [{"criterion": c.key, "question": c.question, "collected": votes.get(c.id, 0),
                     "target": items.get(c.id, 0) * k}
                    for c in Criterion.objects.filter(study=study).order_by("position", "id")]
    return {
        "target": sum(row["target"] for row in by_criterion),
        "collected": sum(row["collected"] for row in by_criterion),
        "by_criterion": by_criterion,
        "attention_checks": Vote.objects.filter(study=study, attention_check=True).count(),
        "annotators_total": Annotator.objects.filter(study=study).count(),
        "annotators_active": Vote.objects.filter(study=study, created_at__gte=now - ACTIVE_WINDOW)
                                         .values("annotator").distinct().count(),
        "pair_table": _pair_table(study),
        "computed_at": now.isoformat(),
    }


def _pair_table(study: Study) -> list[dict]:
    from annotate.models import Vote

    table: dict[tuple, dict] = {}
    pairs = (WorkItem.objects.filter(study=study)
             .values_list("criterion__key", "criterion__position", "comparison__image_a__system__key",
                          "comparison__image_b__system__key").distinct())
    for crit, position, a, b in pairs:
        table[(position, crit, a, b)] = {"criterion": crit, "a": a, "b": b, "a_wins": 0, "b_wins": 0, "ties": 0}
    counted = (Vote.objects.filter(study=study, **counted_votes())
               .values("criterion__key", "criterion__position", "comparison__image_a__system__key",
                       "comparison__image_b__system__key")
               .annotate(a_wins=Count("id", filter=Q(winner=F("comparison__image_a__system"))),
                         b_wins=Count("id", filter=Q(winner=F("comparison__image_b__system"))),
                         ties=Count("id", filter=Q(winner__isnull=True))))
    for row in counted:
        key = (row["criterion__position"], row["criterion__key"], row["comparison__image_a__system__key"],
               row["comparison__image_b__system__key"])
        entry = table.setdefault(key, {"criterion": key[1], "a": key[2], "b": key[3],
                                       "a_wins": 0, "b_wins": 0, "ties": 0})
        entry.update(a_wins=row["a_wins"], b_wins=row["b_wins"], ties=row["ties"])
    return [table[key] for key in sorted(table, key=lambda k: (k[0], k[1], k[2], k[3]))]
