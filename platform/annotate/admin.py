"""Django admin for annotators, sessions, assignments and votes (scoped to the staff member's studies)."""
from django.contrib import admin
from django.db import transaction
from studies.admin import ScopedToStudiesMixin

from . import recollect
from .models import Annotator, AnnotatorSession, Assignment, Vote


@admin.register(Annotator)
class AnnotatorAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ("pseudonym", "study", "external_id", "excluded", "checks_passed", "checks_failed",
                    "extra_sessions", "created_at", "last_seen_at")
    list_filter = ("study", "excluded")
    search_fields = ("pseudonym", "external_id", "crowd_session_id")
    list_editable = ("excluded",)
    # counters are kept by the vote's transaction (annotate.services); never typed in by hand
    readonly_fields = ("created_at", "last_seen_at", "checks_passed", "checks_failed", "extra_sessions",
                       "regular_votes", "check_votes")

    def save_model(self, request, obj, form, change):
        """Excluding someone here (change form or the list's checkbox) also gives their work back,
        as an exclusion by failed checks does (``annotate.recollect.exclude``)."""
        if not change:
            return super().save_model(request, obj, form, change)
        with transaction.atomic():
            # only what the form changed: a full save would overwrite the vote counters that votes
            # update meanwhile; the exclusion itself goes through recollect.exclude
            fields = [name for name in form.changed_data if name != "excluded"]
            if fields:
                obj.save(update_fields=fields)
            if obj.excluded and "excluded" in form.changed_data:
                recollect.exclude(obj.pk)


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
