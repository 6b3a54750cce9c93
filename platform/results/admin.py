"""Django admin for reports and study questions (scoped to the staff member's studies)."""
from django.contrib import admin
from studies.admin import ScopedToStudiesMixin

from .models import StudyQuestion, StudyReport


@admin.register(StudyReport)
class StudyReportAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ("study", "status", "n_votes", "refreshed_at", "requested_at")
    list_filter = ("status",)
    readonly_fields = ("study", "status", "message", "refreshed_at", "n_votes", "files", "headline")
    search_fields = ("study__slug",)


@admin.register(StudyQuestion)
class StudyQuestionAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ("study", "kind", "system_a", "system_b", "margin", "alpha", "updated_at")
    readonly_fields = ("looks", "answer", "edited_after_looks")
    search_fields = ("study__slug",)
