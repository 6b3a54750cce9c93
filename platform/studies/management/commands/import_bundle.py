"""manage.py import_bundle <dir> --study <slug>: validate a bundle and import it as a new study.

With ``--dry-run`` it only checks the bundle with the shared validator (:mod:`formats.bundle`, the
check ``python -m generation validate`` runs), prints ``ok`` or the error naming entry and field,
and writes nothing. A refused bundle or option exits with status 2.
"""
import argparse
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studies.bundle import BundleError, load_bundle
from studies.errors import StudyError
from studies.options import OPTIONS, Option, clean_option
from studies.services import create_study_from_bundle

#: Exit status of a refused bundle or option (as ``python -m generation validate``).
REFUSED = 2
#: Flags not spelled as their option (``--votes-per-pair`` is ``votes_per_pair``): the names in use.
FLAG_NAMES = {"allow_ties": "--no-ties", "quota_per_annotator": "--quota", "assignment_timeout_s": "--timeout",
              "attention_min_votes_before_check": "--attention-min-votes", "consent_text": "--consent"}
#: Options whose value may be ``@file`` (the text is read from the file).
FROM_FILE = ("instructions", "consent_text")


class Command(BaseCommand):
    help = "Validate a study bundle directory (contract section 1) and import it as a new study, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("bundle_dir", type=Path, help="directory holding manifest.json")
        parser.add_argument("--study", required=True, help="slug of the new study")
        parser.add_argument("--owner", help="username of the owning researcher (default: the only superuser)")
        parser.add_argument("--criteria", default="overall",
                            help="comma-separated criterion keys, e.g. overall,alignment,quality")
        parser.add_argument("--launch", action="store_true", help="make the study live at once")
        parser.add_argument("--dry-run", action="store_true",
                            help="only check the bundle: print ok or the error, write nothing")
        for name, option in OPTIONS.items():
            _add_option_flag(parser, name, option)

    def handle(self, *args, **opts):
        if opts["dry_run"]:
            return self._check(opts["bundle_dir"], progress=opts["verbosity"] > 1)
        owner = _owner(opts["owner"])
        options = {name: _text(opts[name]) if name in FROM_FILE else opts[name] for name in OPTIONS}
        try:
            study = create_study_from_bundle(
                bundle_dir=opts["bundle_dir"], slug=opts["study"], owner=owner,
                criteria=[c.strip() for c in opts["criteria"].split(",") if c.strip()],
                launch=opts["launch"], progress=opts["verbosity"] > 0, **options)
        except (BundleError, StudyError) as exc:
            raise CommandError(f"bundle refused, nothing imported: {exc}", returncode=REFUSED) from None
        self.stdout.write(self.style.SUCCESS(
            f"imported study {study.slug!r} ({study.status}): {study.systems.count()} systems, "
            f"{study.prompts.count()} prompts, {study.images.count()} images, "
            f"{study.comparisons.count()} comparisons, {study.work_items.count()} work items"))
        for warning in study.import_warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))

    def _check(self, bundle_dir: Path, *, progress: bool) -> None:
        try:
            spec = load_bundle(bundle_dir, progress=progress)
        except BundleError as exc:
            raise CommandError(str(exc), returncode=REFUSED) from exc
        self.stdout.write(f"ok: {len(spec.systems)} systems, {len(spec.prompts)} prompts, {len(spec.images)} images, "
                          f"{len(spec.comparisons)} comparisons")


def _add_option_flag(parser, name: str, option: Option) -> None:
    """The flag of one study option: type, default, range and help from its ``Study`` field."""
    flag = FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
    if option.kind is bool:  # a switch that turns the default over
        words = "turn off" if option.default else "turn on"
        parser.add_argument(flag, dest=name, action="store_false" if option.default else "store_true",
                            help=f"{words}: {option.help}")
        return
    notes = [words for words in (option.range_words(),) if words]
    if option.default not in (None, ""):
        notes.append(f"default {option.default}")
    if name in FROM_FILE:
        notes.append("or @file to read it")
    help_text = option.help + (f" ({'; '.join(notes)})" if notes else "")
    parser.add_argument(flag, dest=name, default=option.default, type=_option_type(name), help=help_text)


def _option_type(name: str):
    """argparse's ``type`` for option ``name``: the check the service runs (so a bad value names the field)."""
    def convert(raw: str):
        if name in FROM_FILE:
            return raw
        try:
            return clean_option(name, raw)
        except StudyError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = name
    return convert


def _owner(username):
    users = get_user_model().objects
    if username:
        try:
            return users.get(username=username)
        except users.model.DoesNotExist:
            raise CommandError(f"--owner: no user named {username!r} (create one with createsuperuser)") from None
    supers = list(users.filter(is_superuser=True)[:2])
    if len(supers) != 1:
        raise CommandError("--owner: give the owning researcher's username "
                           f"({'no' if not supers else 'several'} superusers to default to)")
    return supers[0]


def _text(value: str) -> str:
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {value[1:]}: {exc.strerror}") from None
    return value
