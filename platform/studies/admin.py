"""Django admin for the studies models (annotate registers its own)."""
from django.contrib import admin
from django.db import models

from .access import studies_for_user
from .models import Comparison, Criterion, Image, Prompt, Study, System, WorkItem


class ScopedToStudiesMixin:
    """Staff see only rows of the studies they are researchers of (``studies.access``: every study for
    a superuser). ``study_lookup`` is the path from the row to its study, ending in ``__in``."""

    study_lookup = "study__in"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(**{self.study_lookup: studies_for_user(request.user)})


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


@admin.register(Study)
class StudyAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    study_lookup = "pk__in"
    list_display = ["slug", "name", "status", "owner", "votes_per_pair", "created_at"]
    list_filter = ["status"]
    search_fields = ["slug", "name", "owner__username"]
    list_select_related = ["owner"]
    filter_horizontal = ["members"]
    readonly_fields = ["created_at", "launched_at", "closed_at", "progress", "progress_updated_at", "manifest"]
    inlines = [CriterionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Criterion)
class CriterionAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ["key", "study", "question", "position"]
    list_select_related = ["study"]
    search_fields = ["key", "study__slug"]
    raw_id_fields = ["study"]


@admin.register(System)
class SystemAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ["key", "label", "study"]
    list_select_related = ["study"]
    search_fields = ["key", "label", "study__slug"]
    raw_id_fields = ["study"]


@admin.register(Prompt)
class PromptAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ["key", "text", "study"]
    list_select_related = ["study"]
    search_fields = ["key", "text", "study__slug"]
    raw_id_fields = ["study"]


@admin.register(Image)
class ImageAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ["public_id", "study", "system", "prompt", "seed", "bundle_path"]
    list_select_related = ["study", "system", "prompt"]
    list_filter = ["study"]
    search_fields = ["bundle_path", "study__slug", "system__key", "prompt__key"]
    raw_id_fields = ["study", "system", "prompt"]
    readonly_fields = ["public_id", "sha256"]


@admin.register(Comparison)
class ComparisonAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ["id", "study", "prompt", "seed", "image_a", "image_b"]
    list_select_related = ["study", "prompt", "image_a", "image_b"]
    search_fields = ["study__slug", "prompt__key"]
    raw_id_fields = ["study", "prompt", "image_a", "image_b"]


@admin.register(WorkItem)
class WorkItemAdmin(ScopedToStudiesMixin, admin.ModelAdmin):
    list_display = ["id", "study", "comparison", "criterion", "reserved", "votes"]
    list_select_related = ["study", "comparison", "criterion"]
    list_filter = ["study"]
    raw_id_fields = ["study", "comparison", "criterion"]
