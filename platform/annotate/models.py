"""Annotators, the assignments handed to them, and their votes."""
import uuid

from django.core.exceptions import ValidationError
from django.db import models

from studies.models import Comparison, Criterion, Image, Study, System, WorkItem


class Annotator(models.Model):
    """One person in one study. Identified by the crowd-platform id when given."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="annotators")
    pseudonym = models.CharField(max_length=32, help_text="stable within the study; what exports show")
    external_id = models.CharField(max_length=128, blank=True, help_text="e.g. PROLIFIC_PID")
    crowd_study_id = models.CharField(max_length=128, blank=True)
    crowd_session_id = models.CharField(max_length=128, blank=True)
    excluded = models.BooleanField(default=False, help_text="failed quality control")
    checks_passed = models.PositiveIntegerField(default=0, help_text="attention checks answered consistently")
    checks_failed = models.PositiveIntegerField(default=0, help_text="attention checks answered inconsistently")
    # Kept by annotate.services.record_vote in the vote's transaction, so no request counts votes.
    regular_votes = models.PositiveIntegerField(default=0, help_text="votes that count toward the quota")
    check_votes = models.PositiveIntegerField(default=0, help_text="votes on attention checks")
    extra_sessions = models.PositiveIntegerField(
        default=0, help_text="sessions opened with this crowd id while an earlier one existed "
                             "(a second browser or tab, or someone else using the id); > 0 = flagged",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    def clean(self):
        """An exclusion is not undone: the excluded annotator's work was given to others
        (``annotate.recollect``), so counting their votes again would over-fill those items."""
        if self.pk and not self.excluded and Annotator.objects.filter(pk=self.pk, excluded=True).exists():
            raise ValidationError({"excluded": "an exclusion cannot be undone: this annotator's work was "
                                               "already given to others"})

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "pseudonym"], name="annotator_unique_pseudonym"),
            models.UniqueConstraint(
                fields=["study", "external_id"], condition=~models.Q(external_id=""),
                name="annotator_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.pseudonym


class AnnotatorSession(models.Model):
    """A bearer token for the annotator API; only its sha256 is stored."""

    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="sessions")
    token_sha256 = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session of {self.annotator_id}"


class Assignment(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", "Issued"
        VOTED = "voted", "Voted"
        EXPIRED = "expired", "Expired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="assignments")
    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="assignments")
    left_image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    right_image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    attention_check = models.BooleanField(default=False)
    # For an attention check: the annotator's earlier regular vote it repeats (sides swapped).
    repeat_of = models.ForeignKey("Vote", null=True, blank=True, on_delete=models.CASCADE, related_name="repeats")
    # A gold check: one side is a degraded copy (Image.degraded_from) of the other; the original is right.
    gold = models.BooleanField(default=False)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            # An annotator never gets the same (comparison, criterion) twice as regular work;
            # attention checks repeat one on purpose and hold no slot.
            models.UniqueConstraint(fields=["annotator", "work_item"], condition=models.Q(attention_check=False),
                                    name="assignment_once_per_annotator"),
            models.UniqueConstraint(fields=["repeat_of"], condition=models.Q(repeat_of__isnull=False),
                                    name="assignment_one_check_per_vote"),
            models.CheckConstraint(condition=models.Q(attention_check=True) | models.Q(repeat_of__isnull=True),
                                   name="assignment_repeat_only_for_checks"),
            models.CheckConstraint(condition=models.Q(attention_check=True) | models.Q(gold=False),
                                   name="assignment_gold_only_for_checks"),
        ]
        indexes = [
            # Open assignments only: what expiry sweeps, oldest deadline first ...
            models.Index(fields=["expires_at"], condition=models.Q(status="issued"), name="assignment_expiry"),
            # ... and one annotator's open tasks, oldest first.
            models.Index(fields=["annotator", "issued_at"], condition=models.Q(status="issued"),
                         name="assignment_open"),
        ]


class Vote(models.Model):
    class Choice(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        TIE = "tie", "Tie"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # vote_id in exports
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="vote")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="votes")
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="votes")
    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="votes")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="votes")
    system_left = models.ForeignKey(System, on_delete=models.CASCADE, related_name="+")
    system_right = models.ForeignKey(System, on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(max_length=5, choices=Choice.choices)
    winner = models.ForeignKey(System, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               help_text="empty for a tie")
    response_ms = models.PositiveIntegerField(help_text="as the client measured it (checked against server_ms)")
    server_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="the server's own clock: from handing the task out to this vote")
    attention_check = models.BooleanField(default=False)
    check_passed = models.BooleanField(null=True, blank=True,
                                       help_text="attention checks only: the same winner (or tie) as the repeated vote; "
                                                 "gold: the original, not its degraded copy")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["study", "created_at"], name="vote_study_time")]
