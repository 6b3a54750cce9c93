"""Studies and what a bundle brings into them: systems, prompts, images, comparisons."""
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, URLValidator
from django.db import models

from formats.ids import ID_PATTERN, ID_RULE

#: What annotators see when a study has no public title: says nothing about the systems.
DEFAULT_PUBLIC_TITLE = "Image comparison study"
#: The id rule of :mod:`formats.ids` (the same pattern and words, so migrations do not change).
ID_VALIDATOR = RegexValidator(ID_PATTERN.pattern, f"ids are {ID_RULE}")
#: Gold checks an import makes unless asked otherwise (``Study.gold_pairs`` records how many it made,
#: so a study created without an import has none).
GOLD_PAIRS_AT_IMPORT = 24


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200,
                            help_text="internal: shown to researchers only; empty at import = the bundle's name")
    public_title = models.CharField(
        max_length=200, blank=True,
        help_text=f"what annotators see as the study's title; empty = {DEFAULT_PUBLIC_TITLE!r}; "
                  "never name the systems here",
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_studies")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="member_studies")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    votes_per_pair = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="k: votes wanted per (comparison, criterion), each from a different annotator",
    )
    allow_ties = models.BooleanField(default=True, help_text="annotators may answer that neither image is better (a tie)")
    quota_per_annotator = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="most votes one annotator may give; empty = no limit",
    )
    assignment_timeout_s = models.PositiveIntegerField(
        default=600, validators=[MinValueValidator(10)],
        help_text="an assignment not voted on within this many seconds expires and is handed out again",
    )
    instructions = models.TextField(blank=True, help_text="shown to annotators before the first task")
    consent_text = models.TextField(blank=True, help_text="what annotators agree to before they start")
    completion_code = models.CharField(max_length=64, blank=True,
                                       help_text="shown to annotators when they are done, e.g. for Prolific")
    redirect_url = models.URLField(blank=True, validators=[URLValidator(schemes=["http", "https"])],
                                   help_text="http(s) address annotators are sent to when done")
    screen_out_code = models.CharField(
        max_length=64, blank=True,
        help_text="given instead of the completion code to excluded annotators and to those who joined "
                  "when nothing was left for them (Prolific's screen-out convention)",
    )
    require_crowd_id = models.BooleanField(
        default=False, help_text="refuse anonymous joins: the link must carry a crowd id (PROLIFIC_PID)",
    )

    # Quality control (annotate.attention): repeated-pair attention checks.
    attention_check_rate = models.FloatField(
        default=0.1, validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="chance (0-0.5) that a request for the next task gets a repeat of an earlier pair, "
                  "sides swapped; 0 = no checks",
    )
    attention_min_votes_before_check = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="regular votes an annotator gives before the first check",
    )
    gold_pairs = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(500)],
        help_text=f"gold checks made at import ({GOLD_PAIRS_AT_IMPORT} unless asked otherwise): images paired "
                  "with a degraded copy of themselves (a known right answer); 0 = none",
    )
    exclude_after_failed_checks = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(0), MaxValueValidator(1000)],
        help_text="failed checks at which an annotator is excluded; 0 = never automatically",
    )

    bundle_name = models.CharField(max_length=200, blank=True)
    import_warnings = models.JSONField(
        default=list, blank=True, help_text="the import report's warnings (e.g. file size predicts the system)",
    )
    manifest = models.JSONField(default=dict, blank=True, help_text="the bundle manifest as imported")

    # Filled by a Celery task (studies.tasks.refresh_progress), never in a request.
    progress = models.JSONField(default=dict, blank=True)
    progress_updated_at = models.DateTimeField(null=True, blank=True)
    # When a refresh was last queued (studies.tasks.request_progress_refresh debounces on it).
    progress_requested_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        """Rules across options (``full_clean`` runs it; so does ``studies.options.clean_options``)."""
        if self.screen_out_code and self.screen_out_code == self.completion_code:
            raise ValidationError({"screen_out_code": "must differ from the completion code"})

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE

    @property
    def annotator_title(self) -> str:
        """The title annotators see: the public title, or a neutral default (never ``name``)."""
        return self.public_title or DEFAULT_PUBLIC_TITLE


#: Study fields that can be large (the bundle manifest is megabytes for a big bundle): requests
#: an annotator makes never load them (``defer(*STUDY_BULK_FIELDS)``).
STUDY_BULK_FIELDS = ("manifest", "progress")


class Criterion(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="criteria")
    key = models.CharField(max_length=64, validators=[ID_VALIDATOR])
    question = models.CharField(max_length=300)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["study", "key"], name="criterion_unique_key")]

    def __str__(self) -> str:
        return f"{self.study_id}:{self.key}"


class System(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="systems")
    key = models.CharField(max_length=64, validators=[ID_VALIDATOR])
    label = models.CharField(max_length=200, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["study", "key"], name="system_unique_key")]

    def __str__(self) -> str:
        return self.key


class Prompt(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="prompts")
    key = models.CharField(max_length=64, validators=[ID_VALIDATOR])
    text = models.TextField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["study", "key"], name="prompt_unique_key")]

    def __str__(self) -> str:
        return self.key


def image_upload_path(instance: "Image", filename: str) -> str:
    # Opaque on purpose: neither the path nor the URL may reveal the system.
    return f"studies/{instance.study.slug}/{instance.public_id.hex}{_suffix(filename)}"


def original_upload_path(instance: "Image", filename: str) -> str:
    # The bundle's own file, kept for researchers; never served to annotators.
    return f"studies/{instance.study.slug}/originals/{instance.public_id.hex}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot >= 0 else ""


class BundleImageManager(models.Manager):
    """The bundle's own images; the gold copies the platform made (``degraded_from`` set) are left out."""

    def get_queryset(self):
        return super().get_queryset().filter(degraded_from__isnull=True)


class Image(models.Model):
    """An image of the bundle (re-encoded for serving, original kept), or a gold copy the platform
    made of one (``degraded_from`` set): ``Image.objects`` and ``study.images`` list the bundle's
    only, ``Image.with_gold_copies`` both."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="images")
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="images")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="images")
    seed = models.BigIntegerField()
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # What annotators are served: re-encoded at import (studies.reencode), one format, no metadata.
    file = models.FileField(upload_to=image_upload_path, max_length=300)
    original = models.FileField(upload_to=original_upload_path, max_length=300, blank=True,
                                help_text="the bundle's file as imported (researchers only)")
    bundle_path = models.CharField(max_length=500, help_text="path inside the bundle")
    sha256 = models.CharField(max_length=64, blank=True, help_text="of the original file")
    metrics = models.JSONField(default=dict, blank=True)
    # Gold checks: a visibly degraded copy of this image, made by the platform at import.
    degraded_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="degraded_copies")

    objects = BundleImageManager()
    with_gold_copies = models.Manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["system", "prompt", "seed"], condition=models.Q(degraded_from__isnull=True),
                                    name="image_unique_system_prompt_seed")
        ]

    def __str__(self) -> str:
        return f"{self.system_id}/{self.prompt_id}/s{self.seed}"


class Comparison(models.Model):
    """Two images of the same (prompt, seed) from two systems: the unit shown to annotators."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="comparisons")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="comparisons")
    seed = models.BigIntegerField()
    image_a = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    image_b = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "image_a", "image_b"], name="comparison_unique_pair")
        ]

    def __str__(self) -> str:
        return f"{self.image_a} vs {self.image_b}"


def new_deal_rank() -> int:
    """A random place in the study's deal order (63-bit, so ties are practically impossible)."""
    return secrets.randbits(62)


class WorkItem(models.Model):
    """One (comparison, criterion) that needs ``study.votes_per_pair`` votes.

    ``reserved`` counts live assignments plus votes; a claim is an
    ``UPDATE ... SET reserved = reserved + 1 WHERE reserved < k`` that must
    change exactly one row, so concurrent annotators can never over-fill it.
    ``deal_rank`` is a random number drawn at import: items are dealt in the
    order (``reserved``, ``deal_rank``), so the hand-out order follows neither
    the bundle nor the ids (see ``annotate.assignment``).
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="work_items")
    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="work_items")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="work_items")
    reserved = models.PositiveIntegerField(default=0)
    votes = models.PositiveIntegerField(default=0)
    deal_rank = models.BigIntegerField(default=new_deal_rank, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["comparison", "criterion"], name="workitem_unique"),
        ]
        indexes = [models.Index(fields=["study", "reserved", "deal_rank"], name="workitem_deal")]


class StudyCounters(models.Model):
    """Counts the annotator path needs, kept instead of counted (``studies.counters``)."""

    study = models.OneToOneField(Study, on_delete=models.CASCADE, primary_key=True, related_name="counters")
    work_items = models.PositiveIntegerField(default=0, help_text="the study's work items (fixed at import)")
    items_full = models.PositiveIntegerField(default=0, help_text="work items with no free slot (reserved = k)")

    class Meta:
        verbose_name_plural = "study counters"

    def __str__(self) -> str:
        return f"counters of {self.study_id}"
