"""Researcher API under /api/ (annotator endpoints are annotate.api_urls)."""
from django.urls import path

from . import api

app_name = "studies_api"

urlpatterns = [
    path("studies", api.study_list, name="study_list"),
    path("studies/<slug:slug>", api.study_detail, name="study_detail"),
    path("studies/<slug:slug>/status", api.study_status, name="study_status"),
    path("studies/<slug:slug>/votes", api.study_votes, name="study_votes"),
]
