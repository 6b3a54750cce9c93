"""Annotator API under /api/ (contract section 4)."""
from django.urls import path
from django.views.decorators.http import require_GET

from . import api

urlpatterns = [
    path("studies/<slug:slug>/sessions", api.session_create, name="annotate-session-create"),
    path("session/next", api.session_next, name="annotate-session-next"),
    path("session/finish", api.session_finish, name="annotate-session-finish"),
    path("assignments/<str:assignment_id>/vote", api.vote_create, name="annotate-vote"),
    path("images/<str:token>", require_GET(api.image), name="annotate-image"),
]
