"""Researcher REST API (session auth): list, detail, lifecycle, votes download.

Refusals are raised, never built here: ``qsched_platform.api_errors`` answers them as
``{"detail", "code"}`` (a ``StudyError`` 400 with its code, e.g. ``invalid_transition``).
"""
from __future__ import annotations

from rest_framework.decorators import api_view, content_negotiation_class, permission_classes
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from qsched_platform.api_errors import BadRequest

from .access import get_study_for_user, studies_for_user
from .export import votes_response
from .models import Study
from .serializers import StatusSerializer, StudyDetailSerializer, StudyListSerializer
from .services import set_status


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Always answer errors in JSON; ``?format=`` names the export format, not a renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def study_list(request):
    studies = studies_for_user(request.user).select_related("owner")
    return Response({"studies": StudyListSerializer(studies, many=True).data})


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def study_detail(request, slug: str):
    study = get_study_for_user(request.user, slug)
    return Response(StudyDetailSerializer(study).data)


@api_view(["POST"])
@permission_classes([IsAuthenticated])
def study_status(request, slug: str):
    study = get_study_for_user(request.user, slug)
    serializer = StatusSerializer(data=request.data)
    if not serializer.is_valid():
        raise BadRequest(f"status must be one of {', '.join(Study.Status.values)}")
    set_status(study=study, status=serializer.validated_data["status"], by=request.user)
    return Response({"slug": study.slug, "status": study.status})


@api_view(["GET"])
@permission_classes([IsAuthenticated])
@content_negotiation_class(JSONOnlyNegotiation)
def study_votes(request, slug: str):
    study = get_study_for_user(request.user, slug)
    fmt = request.query_params.get("format", "csv")  # an unknown one: votes_response raises StudyError
    reveal = request.query_params.get("reveal_external_ids", "") in ("1", "true", "yes")
    return votes_response(study, fmt, reveal_external_ids=reveal)
