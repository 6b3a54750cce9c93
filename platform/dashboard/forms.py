"""Forms of the researcher pages. They check input; the studies services do the writes."""

from django import forms
from django.conf import settings
from studies.models import Study
from studies.options import OPTIONS, option_formfield
from studies.services import DEFAULT_QUESTIONS

from formats.ids import ID_RULE, is_id

STANDARD_CRITERIA = ("overall", "alignment", "quality")
TEXTAREA = forms.Textarea(attrs={"rows": 3})


class StudyCreateForm(forms.Form):
    """Everything needed to create a study from an uploaded bundle zip."""

    bundle = forms.FileField(help_text="A .zip of a bundle directory: manifest.json plus the images it names.")
    slug = Study._meta.get_field("slug").formfield(help_text="Short id used in links, e.g. sdxl-turbo-w4a8.")
    name = option_formfield("name", required=False)
    public_title = option_formfield("public_title", label="Title for annotators")
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
    # The study's options: fields, defaults, ranges and help come from the Study model (studies.options).
    votes_per_pair = option_formfield("votes_per_pair", label="Votes per pair (k)")
    allow_ties = option_formfield("allow_ties", label="Allow ties")
    quota_per_annotator = option_formfield("quota_per_annotator", label="Quota per annotator")
    assignment_timeout_s = option_formfield("assignment_timeout_s", label="Assignment time limit (s)")
    # Left empty, these take the option's default.
    attention_check_rate = option_formfield("attention_check_rate", required=False, label="Attention check rate")
    attention_min_votes_before_check = option_formfield("attention_min_votes_before_check", required=False,
                                                        label="Votes before the first check")
    exclude_after_failed_checks = option_formfield("exclude_after_failed_checks", required=False,
                                                   label="Exclude after failed checks")
    gold_pairs = option_formfield("gold_pairs", required=False, label="Gold checks")
    instructions = option_formfield("instructions", widget=TEXTAREA)
    consent_text = option_formfield("consent_text", widget=TEXTAREA)
    completion_code = option_formfield("completion_code")
    redirect_url = option_formfield("redirect_url", assume_scheme="https", label="Redirect URL")
    screen_out_code = option_formfield("screen_out_code", label="Screen-out code")
    require_crowd_id = option_formfield("require_crowd_id", label="Require a crowd id")
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
        """Keyword arguments for ``studies.services.create_study_from_zip`` (besides upload and owner);
        an option left empty is left out, so the service gives it its default."""
        data = self.cleaned_data
        options = {name: data[name] for name in OPTIONS if data[name] is not None or OPTIONS[name].nullable}
        return {"slug": data["slug"], "launch": data["launch"], "criteria": data["criteria"], **options}


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Study.Status.choices)


class MemberForm(forms.Form):
    action = forms.ChoiceField(choices=[("add", "Add"), ("remove", "Remove")])
    username = forms.CharField(max_length=150)

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()
