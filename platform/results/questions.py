"""The study's question: set it, turn it into the analysis' question, keep its looks.

Rules:

* a question names two different systems of the study and, optionally, one of
  its criteria; anything else is refused (``QuestionError``) and nothing is written;
* the analysis decides the answer (``analysis.question``); this module only
  stores what the researcher asked and, after each report build, the looks
  taken and the latest answer (``record_answer``);
* the planned number of votes, when not given, is what the study design
  gives the pair: its work items on that criterion times ``votes_per_pair``;
* changing a question after looks were taken is allowed but recorded
  (``edited_after_looks``) and said with the answer, because error control
  holds for a question fixed before the data.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from .models import StudyQuestion

__all__ = ["QuestionError", "analysis_question", "clear_study_question", "record_answer", "set_study_question"]


class QuestionError(ValueError):
    """A question the study cannot answer; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _check(study, *, kind, system_a, system_b, criterion, margin, alpha, planned_votes) -> None:
    if kind not in StudyQuestion.Kind.values:
        raise QuestionError("kind", f"kind must be one of {', '.join(StudyQuestion.Kind.values)}, got {kind!r}")
    systems = set(study.systems.values_list("key", flat=True))
    for field, key in (("system_a", system_a), ("system_b", system_b)):
        if key not in systems:
            raise QuestionError(field, f"{key!r} is not a system of this study (it has {', '.join(sorted(systems))})")
    if system_a == system_b:
        raise QuestionError("system_b", "A and B must be two different systems")
    if criterion and not study.criteria.filter(key=criterion).exists():
        raise QuestionError("criterion", f"{criterion!r} is not a criterion of this study")
    if kind != StudyQuestion.Kind.SUPERIORITY and not 0.0 < margin < 0.5:
        raise QuestionError("margin", f"the margin must be between 0 and 0.5 (win rate), got {margin}")
    if not 0.0 < alpha < 0.5:
        raise QuestionError("alpha", f"alpha must be between 0 and 0.5, got {alpha}")
    if planned_votes is not None and planned_votes < 1:
        raise QuestionError("planned_votes", f"planned votes must be at least 1, got {planned_votes}")


@transaction.atomic
def set_study_question(*, study, kind: str, system_a: str, system_b: str, criterion: str = "",
                       margin: float = 0.05, alpha: float = 0.05, planned_votes: int | None = None) -> StudyQuestion:
    """Create or change the question of ``study`` (checked first; nothing is written on a refusal)."""
    _check(study, kind=kind, system_a=system_a, system_b=system_b, criterion=criterion, margin=margin, alpha=alpha,
           planned_votes=planned_votes)
    question = StudyQuestion.objects.select_for_update().filter(study=study).first() or StudyQuestion(study=study)
    new = (kind, system_a, system_b, criterion or "", float(margin), float(alpha), planned_votes)
    old = (question.kind, question.system_a, question.system_b, question.criterion, question.margin, question.alpha,
           question.planned_votes)
    if question.pk and new != old:
        question.edited_after_looks = max(question.edited_after_looks, len(question.looks))
        question.looks, question.answer = [], {}
    (question.kind, question.system_a, question.system_b, question.criterion, question.margin, question.alpha,
     question.planned_votes) = new
    question.save()
    return question


def clear_study_question(*, study) -> None:
    """Remove the question of ``study`` (if any)."""
    StudyQuestion.objects.filter(study=study).delete()


def _planned_votes(question: StudyQuestion) -> int | None:
    from studies.models import WorkItem

    study = question.study
    criterion = question.criterion or study.criteria.order_by("position", "id").values_list("key", flat=True).first()
    pair = (question.system_a, question.system_b)
    items = WorkItem.objects.filter(study=study, criterion__key=criterion).filter(
        Q(comparison__image_a__system__key__in=pair) & Q(comparison__image_b__system__key__in=pair)).count()
    return items * study.votes_per_pair or None


def analysis_question(study) -> dict | None:
    """The question of ``study`` as :func:`analysis.question.parse_question` takes it (None if it has none)."""
    question = StudyQuestion.objects.filter(study=study).select_related("study").first()
    if question is None:
        return None
    criterion = question.criterion or study.criteria.order_by("position", "id").values_list("key", flat=True).first()
    return {"kind": question.kind, "a": question.system_a, "b": question.system_b, "margin": question.margin,
            "alpha": question.alpha, "criterion": criterion,
            "planned_votes": question.planned_votes or _planned_votes(question), "looks": list(question.looks)}


def record_answer(study, asked: dict | None, answer: dict | None) -> bool:
    """Keep the looks and the answer of the latest report build.

    Written with one conditional UPDATE that matches the question as it was
    ``asked``: if the researcher changed the question while the report was
    being built, the stale answer is dropped (returns False).
    """
    if not asked or not answer:
        return False
    question = StudyQuestion.objects.filter(study=study).first()
    if question is None:
        return False
    if question.edited_after_looks:
        answer = {**answer, "note": f"the question was changed after {question.edited_after_looks} look(s) at "
                                    "the results; its error control assumes it was fixed before them"}
    same = StudyQuestion.objects.filter(pk=question.pk, kind=asked["kind"], system_a=asked["a"], system_b=asked["b"],
                                        margin=asked["margin"], alpha=asked["alpha"])
    return same.update(looks=answer.get("looks", []), answer=answer) == 1
