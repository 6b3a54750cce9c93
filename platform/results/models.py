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


class StudyQuestion(models.Model):
    """The one question a researcher asks of a study, and the looks taken at it so far.

    The answer is computed by ``analysis.question`` at each report build (each build is a look);
    ``looks`` keeps the z statistic and boundary of every look so the sequential test's earlier
    boundaries never change, and ``answer`` the latest answer shown on the study page.
    """

    class Kind(models.TextChoices):
        NON_INFERIORITY = "non-inferiority", "Non-inferiority: A is not worse than B by more than the margin"
        SUPERIORITY = "superiority", "Superiority: A is better than B"
        EQUIVALENCE = "equivalence", "Equivalence: A and B are within the margin of each other"

    study = models.OneToOneField("studies.Study", on_delete=models.CASCADE, related_name="question")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    system_a = models.CharField(max_length=64, help_text="system id of A (the new system)")
    system_b = models.CharField(max_length=64, help_text="system id of B (the reference)")
    criterion = models.CharField(max_length=64, blank=True, help_text="criterion key; empty means the first")
    margin = models.FloatField(default=0.05, help_text="in win rate, e.g. 0.05 = 5 points")
    alpha = models.FloatField(default=0.05, help_text="one-sided error of answering yes wrongly")
    planned_votes = models.PositiveIntegerField(
        null=True, blank=True, help_text="votes planned on the pair; empty means what the study design gives")
    looks = models.JSONField(default=list, blank=True, editable=False)
    answer = models.JSONField(default=dict, blank=True, editable=False)
    edited_after_looks = models.PositiveIntegerField(
        default=0, editable=False, help_text="looks taken before the question was last changed")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.system_a} vs {self.system_b} ({self.study_id})"
