"""``{% study_report study as report %}``: the report row and its headline for the study page."""
from django import template

register = template.Library()


@register.simple_tag
def study_report(study):
    """The study's report (a StudyReport, possibly not built yet) or None for a study not saved."""
    from results.models import StudyReport

    if study is None or getattr(study, "pk", None) is None:
        return None
    return StudyReport.objects.filter(study=study).first() or StudyReport(study=study)


@register.simple_tag
def study_question(study):
    """The study's question (a StudyQuestion) or None."""
    from results.models import StudyQuestion

    if study is None or getattr(study, "pk", None) is None:
        return None
    return StudyQuestion.objects.filter(study=study).first()


@register.filter
def signed(value, digits=3):
    """``+0.123`` / ``-0.456``; an em dash for None."""
    if value is None:
        return "\u2014"
    return f"{float(value):+.{int(digits)}f}"
