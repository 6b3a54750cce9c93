"""Forms of the researcher pages. They check input; the studies services do the writes."""

from django import forms
from django.conf import settings
from studies.models import Study
from studies.services import DEFAULT_QUESTIONS

from formats.ids import ID_RULE, is_id

STANDARD_CRITERIA = ("overall", "alignment", "quality")
TEXTAREA = forms.Textarea(attrs={"rows": 3})
QUALITY_FIELDS = ("attention_check_rate", "attention_min_votes_before_check", "exclude_after_failed_checks")


class StudyCreateForm(forms.Form):
    """Everything needed to create a study from an uploaded bundle zip."""

    bundle = forms.FileField(help_text="A .zip of a bundle directory: manifest.json plus the images it names.")
    slug = forms.SlugField(max_length=64, help_text="Short id used in links, e.g. sdxl-turbo-w4a8.")
    name = forms.CharField(max_length=200, required=False,
                           help_text="Shown to researchers only; defaults to the bundle name.")
    public_title = forms.CharField(max_length=200, required=False, label="Title for annotators",
                                   help_text="Shown on the voting page; empty means \"Image comparison study\". "
                                             "Never name the systems here.")
    use_overall = forms.BooleanField(required=False, initial=True, label="Overall preference")
    question_overall = forms.CharField(max_length=300, required=False)
    use_alignment = forms.BooleanField(required=False, label="Prompt alignment")
    question_alignment = forms.CharField(max_length=300, required=False)
    use_quality = forms.BooleanField(required=False, label="Image quality")
    question_quality = forms.CharField(max_length=300, required=False)
    custom_criteria = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "realism: Which image looks more like a photograph?"}),
        help_text="Optional extra criteria, one per line as key: question.",
    )
    votes_per_pair = forms.IntegerField(
        min_value=1, max_value=100, initial=3, label="Votes per pair (k)",
        help_text="Each (comparison, criterion) gets k votes from k different annotators.",
    )
    allow_ties = forms.BooleanField(required=False, initial=True, label="Allow ties")
    quota_per_annotator = forms.IntegerField(min_value=1, required=False, label="Quota per annotator",
                                             help_text="Most votes one annotator may give; empty means no limit.")
    assignment_timeout_s = forms.IntegerField(min_value=10, initial=600, label="Assignment time limit (s)",
                                              help_text="A task not voted on within this time is handed out again.")
    attention_check_rate = forms.FloatField(
        min_value=0.0, max_value=0.5, initial=0.1, required=False, label="Attention check rate",
        help_text="Share of tasks that repeat an earlier pair with sides swapped (0 to 0.5; 0 turns checks off).",
    )
    attention_min_votes_before_check = forms.IntegerField(
        min_value=1, max_value=1000, initial=3, required=False, label="Votes before the first check")
    exclude_after_failed_checks = forms.IntegerField(
        min_value=0, max_value=1000, initial=2, required=False, label="Exclude after failed checks",
        help_text="An annotator who fails this many checks is excluded from the results (0 = never).",
    )
    instructions = forms.CharField(required=False, widget=TEXTAREA)
    consent_text = forms.CharField(required=False, widget=TEXTAREA)
    completion_code = forms.CharField(max_length=64, required=False, help_text="Shown at the end, e.g. for Prolific.")
    redirect_url = forms.URLField(required=False, assume_scheme="https", label="Redirect URL",
                                  help_text="Where annotators go when done.")
    screen_out_code = forms.CharField(
        max_length=64, required=False, label="Screen-out code",
        help_text="Shown instead of the completion code to annotators excluded by quality control "
                  "and to those who joined when nothing was left.")
    require_crowd_id = forms.BooleanField(
        required=False, label="Require a crowd id",
        help_text="Refuse annotators whose link carries no PROLIFIC_PID.")
    launch = forms.BooleanField(required=False, label="Launch right away",
                                help_text="Otherwise the study stays a draft until you launch it.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in STANDARD_CRITERIA:
            self.fields[f"question_{key}"].initial = DEFAULT_QUESTIONS.get(key, "")

    def clean_bundle(self):
        upload = self.cleaned_data["bundle"]
        if not upload.name.lower().endswith(".zip"):
            raise forms.ValidationError(f"{upload.name!r} is not a .zip file.")
        limit = settings.QSCHED_MAX_BUNDLE_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The upload is {upload.size:,} bytes; the limit is {limit:,} bytes.")
        return upload

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if Study.objects.filter(slug=slug).exists():
            raise forms.ValidationError(f"A study with the slug {slug!r} already exists.")
        return slug

    def clean_custom_criteria(self) -> list[dict]:
        criteria = []
        for number, line in enumerate(self.cleaned_data["custom_criteria"].splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, question = (part.strip() for part in line.partition(":"))
            if not sep or not question:
                raise forms.ValidationError(f"Line {number}: write it as key: question.")
            if not is_id(key):
                raise forms.ValidationError(f"Line {number}: {key!r} is not a valid key ({ID_RULE}).")
            criteria.append({"key": key, "question": question})
        return criteria

    def clean(self):
        data = super().clean()
        criteria = [
            {"key": key, "question": data.get(f"question_{key}") or DEFAULT_QUESTIONS.get(key, "")}
            for key in STANDARD_CRITERIA if data.get(f"use_{key}")
        ]
        criteria += data.get("custom_criteria") or []
        keys = [c["key"] for c in criteria]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            self.add_error("custom_criteria", f"Criterion {', '.join(duplicates)} is listed twice.")
        if not criteria:
            self.add_error(None, "Choose at least one criterion.")
        data["criteria"] = criteria
        return data

    def study_options(self) -> dict:
        """Keyword arguments for ``studies.services.create_study_from_zip`` (besides upload and owner)."""
        data = self.cleaned_data
        names = ("slug", "name", "votes_per_pair", "allow_ties", "quota_per_annotator", "assignment_timeout_s",
                 "instructions", "consent_text", "completion_code", "redirect_url", "launch", "criteria",
                 "attention_check_rate", "attention_min_votes_before_check", "exclude_after_failed_checks",
                 "public_title", "screen_out_code", "require_crowd_id")
        options = {name: data[name] for name in names}
        for name in QUALITY_FIELDS:  # left empty: the field's initial value
            if options[name] is None:
                options[name] = self.fields[name].initial
        return options


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Study.Status.choices)


class MemberForm(forms.Form):
    action = forms.ChoiceField(choices=[("add", "Add"), ("remove", "Remove")])
    username = forms.CharField(max_length=150)

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()
