"""Plain helpers for the researcher pages: optional partials, annotator links, lifecycle buttons."""
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse

from studies.lifecycle import next_statuses
from studies.models import Study

PROLIFIC_QUERY = "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"

CLOSE_FOR_GOOD = "Close this study for good?"
#: How the dashboard shows each move of ``studies.lifecycle.TRANSITIONS``:
#: (current, target) -> (label, css class, confirmation question or "").
BUTTONS: dict[tuple[str, str], tuple[str, str, str]] = {
    (Study.Status.DRAFT, Study.Status.LIVE): ("Launch", "primary", ""),
    (Study.Status.LIVE, Study.Status.PAUSED): ("Pause", "", ""),
    (Study.Status.PAUSED, Study.Status.LIVE): ("Resume", "primary", ""),
    (Study.Status.DRAFT, Study.Status.CLOSED): ("Close", "danger", CLOSE_FOR_GOOD),
    (Study.Status.LIVE, Study.Status.CLOSED): ("Close", "danger", f"{CLOSE_FOR_GOOD} Annotators get no more work."),
    (Study.Status.PAUSED, Study.Status.CLOSED): ("Close", "danger", CLOSE_FOR_GOOD),
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
    """The lifecycle buttons for the study's current status: one per move the state machine allows."""
    actions = []
    for target in next_statuses(study.status):
        label, css, confirm = BUTTONS[(study.status, target)]
        actions.append({"status": target, "label": label, "css": css, "confirm": confirm})
    return actions
