"""Researcher pages: study list, create form, study page and its actions."""
from django.urls import path

from .views import create, detail, exports, lifecycle, listing, members, progress

app_name = "dashboard"

urlpatterns = [
    path("", listing.study_list, name="study_list"),
    path("studies/new", create.study_create, name="study_create"),
    path("studies/<slug:slug>/", detail.study_detail, name="study_detail"),
    path("studies/<slug:slug>/status", lifecycle.study_status, name="study_status"),
    path("studies/<slug:slug>/export", exports.study_export, name="study_export"),
    path("studies/<slug:slug>/members", members.study_members, name="study_members"),
    path("studies/<slug:slug>/progress.json", progress.study_progress_json, name="study_progress_json"),
]
