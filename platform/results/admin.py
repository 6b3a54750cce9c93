from django.contrib import admin

from .models import StudyReport


@admin.register(StudyReport)
class StudyReportAdmin(admin.ModelAdmin):
    list_display = ("study", "status", "n_votes", "refreshed_at", "requested_at")
    list_filter = ("status",)
    readonly_fields = ("study", "status", "message", "refreshed_at", "n_votes", "files", "headline")
    search_fields = ("study__slug",)
