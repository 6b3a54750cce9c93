"""The study-question form: on the study-create page (prefix "question") and on its own edit page."""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import PurePosixPath

from django import forms

from .models import StudyQuestion

ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
NO_QUESTION = ""


class StudyQuestionForm(forms.Form):
    """What the researcher wants the study to answer; all optional on the create page (kind empty = none).

    ``systems`` / ``criteria`` (when known) turn the id fields into choices; otherwise ids are free text,
    checked against the uploaded bundle by :meth:`check_against_bundle`.
    """

    kind = forms.ChoiceField(choices=[(NO_QUESTION, "No question (just rank the systems)")] +
                             list(StudyQuestion.Kind.choices), required=False, label="Question")
    system_a = forms.CharField(max_length=64, required=False, label="System A",
                               help_text="The system in question, e.g. w4a8-qsched.")
    system_b = forms.CharField(max_length=64, required=False, label="System B",
                               help_text="The reference, e.g. fp16.")
    criterion = forms.CharField(max_length=64, required=False, label="Criterion",
                                help_text="Empty: the first criterion.")
    margin = forms.FloatField(min_value=0.001, max_value=0.499, initial=0.05, required=False,
                              label="Margin (win rate)", help_text="0.05 = A may lose by at most 5 points.")
    alpha = forms.FloatField(min_value=0.001, max_value=0.25, initial=0.05, required=False,
                             label="Error rate (alpha)", help_text="Chance of a wrong yes; one-sided.")
    planned_votes = forms.IntegerField(min_value=1, required=False, label="Planned votes on the pair",
                                       help_text="Empty: what the study design gives the pair.")

    def __init__(self, *args, systems=None, criteria=None, **kwargs):
        super().__init__(*args, **kwargs)
        if systems:
            choices = [("", "—")] + [(s, s) for s in systems]
            for name in ("system_a", "system_b"):
                self.fields[name] = forms.ChoiceField(choices=choices, required=False, label=self.fields[name].label,
                                                      help_text=self.fields[name].help_text)
        if criteria:
            self.fields["criterion"] = forms.ChoiceField(choices=[("", "the first")] + [(c, c) for c in criteria],
                                                         required=False, label="Criterion")

    def clean(self):
        data = super().clean()
        if not data.get("kind"):
            return data
        for name in ("system_a", "system_b"):
            value = (data.get(name) or "").strip()
            if not ID.match(value):
                self.add_error(name, "Give a system id (1-64 of A-Z a-z 0-9 . _ -).")
            data[name] = value
        if data.get("system_a") and data.get("system_a") == data.get("system_b"):
            self.add_error("system_b", "A and B must be two different systems.")
        if data.get("margin") is None:
            data["margin"] = self.fields["margin"].initial
        if data.get("alpha") is None:
            data["alpha"] = self.fields["alpha"].initial
        data["criterion"] = (data.get("criterion") or "").strip()
        return data

    @property
    def asks(self) -> bool:
        return bool(self.cleaned_data.get("kind"))

    def question_options(self) -> dict:
        """Keyword arguments for :func:`results.questions.set_study_question` (besides the study)."""
        d = self.cleaned_data
        return {name: d[name] for name in ("kind", "system_a", "system_b", "criterion", "margin", "alpha",
                                           "planned_votes")}

    def check_against_bundle(self, upload, criteria_keys) -> None:
        """Refuse ids that the uploaded bundle zip does not have (skipped when its manifest cannot be read:
        the bundle's own validation then reports why)."""
        if not self.is_valid() or not self.asks:
            return
        systems = _bundle_system_ids(upload)
        if systems is not None:
            for name in ("system_a", "system_b"):
                if self.cleaned_data[name] not in systems:
                    self.add_error(name, f"{self.cleaned_data[name]!r} is not a system of the bundle "
                                         f"({', '.join(sorted(systems))}).")
        criterion = self.cleaned_data["criterion"]
        if criterion and criterion not in criteria_keys:
            self.add_error("criterion", f"{criterion!r} is not one of the chosen criteria.")


def _bundle_system_ids(upload) -> set[str] | None:
    """System ids in the zip's manifest.json (at the root or in one top folder), or None if unreadable."""
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            names = [n for n in archive.namelist() if PurePosixPath(n).name == "manifest.json"
                     and len(PurePosixPath(n).parts) <= 2 and not n.startswith("__MACOSX/")]
            if len(names) != 1:
                return None
            manifest = json.loads(archive.read(names[0]).decode("utf-8"))
        return {str(s["id"]) for s in manifest.get("systems", []) if isinstance(s, dict) and "id" in s}
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, AttributeError):
        return None
    finally:
        try:
            upload.seek(0)
        except (OSError, AttributeError):
            pass
