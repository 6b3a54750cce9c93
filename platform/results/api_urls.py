"""Results API under /api/."""
from django.urls import path

from . import api

app_name = "results_api"

urlpatterns = [
    path("power", api.power, name="power"),
    path("studies/<slug:slug>/report", api.report_status, name="report_status"),
    path("studies/<slug:slug>/report/refresh", api.report_refresh, name="report_refresh"),
    path("studies/<slug:slug>/report/<str:name>", api.report_file, name="report_file"),
]
