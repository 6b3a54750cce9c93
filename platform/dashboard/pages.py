"""Plain helpers for the researcher pages: optional partials, annotator links, lifecycle buttons."""
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse

from studies.models import Study

PROLIFIC_QUERY = "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"

# status -> the buttons offered: (target status, label, css class, confirmation question or "")
LIFECYCLE_ACTIONS: dict[str, list[tuple[str, str, str, str]]] = {
    Study.Status.DRAFT: [("live", "Launch", "primary", ""),
                         ("closed", "Close", "danger", "Close this study for good?")],
    Study.Status.LIVE: [("paused", "Pause", "", ""),
                        ("closed", "Close", "danger", "Close this study for good? Annotators get no more work.")],
    Study.Status.PAUSED: [("live", "Resume", "primary", ""),
                          ("closed", "Close", "danger", "Close this study for good?")],
    Study.Status.CLOSED: [],
}


def optional_template(name: str) -> str | None:
    """Return ``name`` if that template exists (e.g. a partial another app provides), else None."""
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return None
    return name


def annotator_links(request: HttpRequest, study: Study) -> dict[str, str]:
    """The link annotators open, plain and in the form Prolific wants (with its placeholders)."""
    plain = request.build_absolute_uri(reverse("annotate-vote-page", args=[study.slug]))
    return {"plain": plain, "prolific": plain + PROLIFIC_QUERY}


def lifecycle_actions(study: Study) -> list[dict[str, str]]:
    """The lifecycle buttons for the study's current status."""
    return [
        {"status": target, "label": label, "css": css, "confirm": confirm}
        for target, label, css, confirm in LIFECYCLE_ACTIONS.get(study.status, [])
    ]
