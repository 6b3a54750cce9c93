"""Annotator REST API (contract section 4): sessions, next task, votes, finish, images.

Authentication is the session's ``Authorization: Bearer <token>`` header (no
cookies, hence no CSRF), for images too (``annotate.image_links``). Abuse limits
(``annotate.throttles``) apply to every call here except images. Refusals are raised
(``annotate.errors``) and answered by ``qsched_platform.api_errors``, never built here.
"""
import mimetypes

from django.core.files.storage import default_storage
from django.http import HttpResponse
from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from qsched_platform.file_responses import send_file
from studies.models import STUDY_BULK_FIELDS, Study

from . import services
from .errors import NotAuthenticated, StudyNotFound
from .image_links import IMAGE_CACHE_CONTROL, fresh_image_bytes, image_for_request, image_link_path
from .throttles import CALL_THROTTLES, SESSION_THROTTLES
from .tokens import annotator_for_token, bearer_token


def annotator_api(methods, throttles=CALL_THROTTLES):
    """DRF view without cookie auth, with abuse limits (an ``AnnotateError`` raised is answered by the handler)."""
    def wrap(view):
        for decorate in (throttle_classes(throttles), permission_classes([AllowAny]), authentication_classes([]),
                         api_view(methods)):
            view = decorate(view)
        return view
    return wrap


def _annotator(request):
    annotator = annotator_for_token(bearer_token(request.headers.get("Authorization", "")))
    if annotator is None:
        raise NotAuthenticated("send the header 'Authorization: Bearer <token>' with the token from "
                               "POST /api/studies/<slug>/sessions")
    return annotator


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise services.InvalidInput("the request body must be a JSON object")
    return request.data


def task_payload(task: services.Task) -> dict:
    """The JSON an annotator sees for one task: nothing in it names a system."""
    assignment = task.assignment
    # Paths on this host, not absolute URLs: they stay right behind a proxy that rewrites host or scheme.
    urls = {side: image_link_path(assignment.public_id, side) for side in ("left", "right")}
    return {
        "assignment": str(assignment.public_id),
        "criterion": task.shown.criterion,
        "question": task.shown.question,
        "prompt": task.shown.prompt,
        "left": {"url": urls["left"]},
        "right": {"url": urls["right"]},
        "expires_at": assignment.expires_at.isoformat(),
        **task.progress,
    }


@annotator_api(["POST"], throttles=SESSION_THROTTLES)
def session_create(request, slug: str):
    # A draft is not public yet: the same 404 as for a study that does not exist.
    study = Study.objects.exclude(status=Study.Status.DRAFT).defer(*STUDY_BULK_FIELDS).filter(slug=slug).first()
    if study is None:
        raise StudyNotFound("no such study")
    body = _body(request)
    annotator, token = services.start_session(
        study=study, external_id=body.get("external_id", ""), crowd_study_id=body.get("study_id", ""),
        crowd_session_id=body.get("session_id", ""), user_agent=request.headers.get("User-Agent", ""),
    )
    criteria = [{"key": c.key, "question": c.question} for c in study.criteria.all()]
    return Response({
        "token": token, "title": study.annotator_title, "criteria": criteria, "instructions": study.instructions,
        "consent": study.consent_text, "allow_ties": study.allow_ties, "annotator": annotator.pseudonym,
    }, status=status.HTTP_201_CREATED)


@annotator_api(["GET"])
def session_next(request):
    annotator = _annotator(request)
    exclude = [v for raw in request.query_params.getlist("exclude") for v in raw.split(",") if v]
    task = services.next_task(annotator=annotator, exclude=exclude, fresh=True)
    if task is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(task_payload(task))


@annotator_api(["GET"])
def session_finish(request):
    return Response(services.finish(annotator=_annotator(request)))


@annotator_api(["POST"])
def vote_create(request, assignment_id: str):
    annotator = _annotator(request)
    body = _body(request)
    vote, created = services.record_vote(
        annotator=annotator, assignment_public_id=assignment_id,
        choice=body.get("choice"), response_ms=body.get("response_ms"),
    )
    payload = {"vote": str(vote.public_id), "assignment": assignment_id, "choice": vote.choice,
               "response_ms": vote.response_ms, "created_at": vote.created_at.isoformat()}
    return Response(payload, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def image(request, token: str):
    """Serve one side of an assignment to its holder while the task is open (no system, no file name)."""
    name, fresh = image_for_request(request, token)
    if fresh:  # an attention check: bytes of this link only, sent with the same headers as any image
        response = HttpResponse(fresh_image_bytes(name, token), content_type="image/png")
        response["Cache-Control"] = IMAGE_CACHE_CONTROL
        return response
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return send_file(default_storage.path(name), content_type=content_type, cache_control=IMAGE_CACHE_CONTROL)
