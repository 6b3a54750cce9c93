"""The latest analysis report of a study: its files live under MEDIA_ROOT/reports/<slug>/."""
from django.db import models


class StudyReport(models.Model):
    """Where a study's report stands; one row per study, updated by ``results.services.refresh_report``."""

    class Status(models.TextChoices):
        NONE = "none", "Not built yet"
        OK = "ok", "Up to date as of refreshed_at"
        EMPTY = "empty", "No votes to analyse yet"
        FAILED = "failed", "The last refresh failed"

    study = models.OneToOneField("studies.Study", on_delete=models.CASCADE, related_name="report")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NONE)
    message = models.TextField(blank=True, help_text="why the last refresh failed or found nothing")
    refreshed_at = models.DateTimeField(null=True, blank=True, help_text="when the files were last written")
    n_votes = models.PositiveIntegerField(default=0)
    files = models.JSONField(default=list, blank=True, help_text="names of the files in the report folder")
    headline = models.JSONField(default=dict, blank=True,
                                help_text="per criterion: BT table, interval method, notes (for the study page)")
    # The build lease (results.services): claimed with a conditional UPDATE so that two workers never build
    # the same report at once; renewed while the build runs, so a build whose worker died blocks the report
    # only until the lease lapses (QSCHED_REPORT_LEASE_S), and a redelivery of the same task takes it at once.
    building_since = models.DateTimeField(null=True, blank=True, editable=False,
                                          help_text="when the build lease was last renewed (null: no build)")
    building_by = models.CharField(max_length=64, blank=True, editable=False,
                                   help_text="who holds the build lease: the Celery task id")
    requested_at = models.DateTimeField(null=True, blank=True, editable=False)

    @property
    def refresh_pending(self) -> bool:
        """A refresh was requested after the files were last written."""
        return bool(self.requested_at and (self.refreshed_at is None or self.requested_at > self.refreshed_at))

    def __str__(self) -> str:
        return f"report of {self.study_id} ({self.status})"
