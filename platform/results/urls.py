"""Researcher pages of the results app (included at the site root)."""
from django.urls import path

from . import views

app_name = "results"

urlpatterns = [
    path("studies/<slug:slug>/report/refresh", views.report_refresh, name="report_refresh"),
    path("studies/<slug:slug>/report/<str:name>", views.report_download, name="report_file"),
]
