"""The voting page an annotator opens: /a/<slug>/ (optionally ?PROLIFIC_PID=&STUDY_ID=&SESSION_ID=)."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from studies.models import Study

# The page loads only its own script, style and images.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
CROWD_PARAMS = {"external_id": "PROLIFIC_PID", "study_id": "STUDY_ID", "session_id": "SESSION_ID"}


@require_GET
def vote_page(request: HttpRequest, slug: str) -> HttpResponse:
    study = get_object_or_404(Study, slug=slug)
    config = {
        "slug": study.slug,
        "live": study.is_live,
        "allowTies": study.allow_ties,
        "crowd": {key: request.GET.get(param, "")[:128] for key, param in CROWD_PARAMS.items()},
        "urls": {
            "sessions": reverse("annotate-session-create", kwargs={"slug": study.slug}),
            "next": reverse("annotate-session-next"),
            "finish": reverse("annotate-session-finish"),
            "vote": reverse("annotate-vote", kwargs={"assignment_id": "ASSIGNMENT"}),
        },
    }
    response = render(request, "annotate/vote.html", {"study": study, "config": config})
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "no-referrer"
    return response
