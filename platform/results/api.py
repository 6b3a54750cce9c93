"""Report API (session auth): status and file list, downloads, refresh, and the power calculator."""
from __future__ import annotations

from django.urls import reverse
from rest_framework import status as http
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from qsched_platform.api_errors import BadRequest
from studies.access import get_study_for_user

from .services import ensure_report
from .tasks import request_report_refresh
from .views import file_response

POWER_FIELDS = {"win_rate": float, "tie_rate": float, "alpha": float, "power": float, "margin": float,
                "design_effect": float}


def _report_json(request, study) -> dict:
    report = ensure_report(study)
    return {
        "study": study.slug, "status": report.status, "message": report.message,
        "refreshed_at": report.refreshed_at.isoformat() if report.refreshed_at else None,
        "requested_at": report.requested_at.isoformat() if report.requested_at else None,
        "n_votes": report.n_votes,
        "files": [{"name": name, "url": request.build_absolute_uri(
            reverse("results_api:report_file", args=[study.slug, name]))} for name in report.files],
    }


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def report_status(request, slug: str):
    study = get_study_for_user(request.user, slug)
    return Response(_report_json(request, study))


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def report_file(request, slug: str, name: str):
    study = get_study_for_user(request.user, slug)
    return file_response(study, name)


@api_view(["POST"])
@permission_classes([IsAuthenticated])
def report_refresh(request, slug: str):
    study = get_study_for_user(request.user, slug)
    request_report_refresh(study)
    return Response(_report_json(request, study), status=http.HTTP_202_ACCEPTED)


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def power(request):
    """``GET /api/power?win_rate=0.55&tie_rate=0.1&test=non-inferiority&margin=0.05`` -> votes needed per pair.

    ``study=<slug>`` (instead of ``design_effect``) plans with the design effect estimated from that
    study's votes (its latest report; the researcher must have access to the study).
    """
    from analysis.power import TESTS, votes_needed

    params = {}
    for name, cast in POWER_FIELDS.items():
        raw = request.query_params.get(name)
        if raw in (None, ""):
            continue
        try:
            params[name] = cast(raw)
        except ValueError:
            raise BadRequest(f"{name} must be a number, got {raw!r}") from None
    if "win_rate" not in params:
        raise BadRequest("win_rate is required (the win rate to detect, e.g. 0.55)", code="required")
    source = "given" if "design_effect" in params else "default (independent votes)"
    slug = request.query_params.get("study")
    if slug and "design_effect" not in params:
        study = get_study_for_user(request.user, slug)
        params["design_effect"], source = _estimated_design_effect(study)
    test = request.query_params.get("test", "superiority")
    if test not in TESTS:
        raise BadRequest(f"test must be one of {', '.join(TESTS)}, got {test!r}")
    try:
        n = votes_needed(test=test, **params)
    except ValueError as exc:  # a rate or level out of its range, in the calculator's words
        raise BadRequest(str(exc)) from None
    return Response({"votes_needed_per_pair": n, "test": test, **params, "design_effect_source": source})


def _estimated_design_effect(study) -> tuple[float, str]:
    """The largest per-criterion design effect of the study's latest report, or 1 when there is none yet."""
    report = ensure_report(study)
    values = [res.get("design_effect") for res in (report.headline or {}).values() if res.get("design_effect")]
    if not values:
        return 1.0, f"study {study.slug}: no estimate yet (refresh its results); independent votes assumed"
    return float(max(1.0, max(values))), f"estimated from the votes of study {study.slug}"
