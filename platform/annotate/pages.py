"""The voting page an annotator opens: /a/<slug>/ (optionally ?PROLIFIC_PID=&STUDY_ID=&SESSION_ID=)."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from studies.models import STUDY_BULK_FIELDS, Study

# The page loads only its own script, style and images (fetched with the session header, shown as blob:).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
CROWD_PARAMS = {"external_id": "PROLIFIC_PID", "study_id": "STUDY_ID", "session_id": "SESSION_ID"}


@require_GET
def vote_page(request: HttpRequest, slug: str) -> HttpResponse:
    # A draft is not public yet: 404, as for a study that does not exist.
    study = get_object_or_404(Study.objects.exclude(status=Study.Status.DRAFT).defer(*STUDY_BULK_FIELDS), slug=slug)
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
    # The template gets only what annotators may see: never the internal name.
    page = {"title": study.annotator_title, "allow_ties": study.allow_ties, "instructions": study.instructions,
            "consent_text": study.consent_text}
    response = render(request, "annotate/vote.html", {"study": page, "config": config})
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "no-referrer"
    return response
