"""Researcher pages of the results app (included at the site root)."""
from django.urls import path

from . import views

app_name = "results"

urlpatterns = [
    path("studies/<slug:slug>/report/refresh", views.report_refresh, name="report_refresh"),
    path("studies/<slug:slug>/question", views.question_edit, name="question_edit"),
    path("studies/<slug:slug>/prompts", views.prompt_drilldown, name="prompt_drilldown"),
    path("studies/<slug:slug>/images/<int:image_id>", views.researcher_image, name="researcher_image"),
    path("studies/<slug:slug>/report/<str:name>", views.report_download, name="report_file"),
]
