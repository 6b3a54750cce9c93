"""Django admin for annotators, sessions, assignments and votes (scoped to the staff member's studies)."""
from django.contrib import admin
from studies.admin import ScopedToStudiesMixin

from .models import Annotator, AnnotatorSession, Assignment, Vote


@admin.register(Annotator)
class AnnotatorAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ("pseudonym", "study", "external_id", "excluded", "checks_passed", "checks_failed",
                    "extra_sessions", "created_at", "last_seen_at")
    list_filter = ("study", "excluded")
    search_fields = ("pseudonym", "external_id", "crowd_session_id")
    list_editable = ("excluded",)
    readonly_fields = ("created_at", "last_seen_at", "checks_passed", "checks_failed", "extra_sessions")


@admin.register(AnnotatorSession)
class AnnotatorSessionAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    study_lookup = "annotator__study__in"
    list_display = ("id", "annotator", "created_at", "user_agent")
    list_select_related = ("annotator",)
    readonly_fields = ("annotator", "token_sha256", "user_agent", "created_at")
    search_fields = ("annotator__pseudonym",)


@admin.register(Assignment)
class AssignmentAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    study_lookup = "work_item__study__in"
    list_display = ("public_id", "annotator", "work_item", "status", "attention_check", "issued_at", "expires_at")
    list_filter = ("status", "attention_check", "work_item__study")
    list_select_related = ("annotator", "work_item")
    raw_id_fields = ("annotator", "work_item", "left_image", "right_image", "repeat_of")
    search_fields = ("public_id", "annotator__pseudonym")
    readonly_fields = ("public_id", "issued_at")


@admin.register(Vote)
class VoteAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ("public_id", "study", "annotator", "criterion", "choice", "winner", "response_ms",
                    "attention_check", "check_passed", "created_at")
    list_filter = ("study", "choice", "attention_check")
    list_select_related = ("study", "annotator", "criterion", "winner")
    raw_id_fields = ("assignment", "annotator", "comparison", "criterion", "system_left", "system_right", "winner")
    search_fields = ("public_id", "annotator__pseudonym")
    readonly_fields = ("public_id", "created_at")
