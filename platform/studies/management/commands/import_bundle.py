"""manage.py import_bundle <dir> --study <slug>: validate a bundle and import it as a new study.

With ``--dry-run`` it only checks the bundle with the shared validator (:mod:`formats.bundle`, the
check ``python -m generation validate`` runs), prints ``ok`` or the error naming entry and field,
and writes nothing. A refused bundle or option exits with status 2.
"""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studies.bundle import BundleError, load_bundle
from studies.errors import StudyError
from studies.services import create_study_from_bundle

#: Exit status of a refused bundle or option (as ``python -m generation validate``).
REFUSED = 2


class Command(BaseCommand):
    help = "Validate a study bundle directory (contract section 1) and import it as a new study, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("bundle_dir", type=Path, help="directory holding manifest.json")
        parser.add_argument("--study", required=True, help="slug of the new study")
        parser.add_argument("--owner", help="username of the owning researcher (default: the only superuser)")
        parser.add_argument("--name", default="", help="study name (default: the bundle's name)")
        parser.add_argument("--votes-per-pair", type=int, default=3, help="k votes per (comparison, criterion)")
        parser.add_argument("--criteria", default="overall",
                            help="comma-separated criterion keys, e.g. overall,alignment,quality")
        parser.add_argument("--no-ties", action="store_true", help="do not offer a tie button")
        parser.add_argument("--quota", type=int, default=None, help="most votes per annotator")
        parser.add_argument("--timeout", type=int, default=600, help="assignment timeout in seconds")
        parser.add_argument("--instructions", default="", help="instructions text, or @file to read it")
        parser.add_argument("--consent", default="", help="consent text, or @file to read it")
        parser.add_argument("--public-title", default="",
                            help="title annotators see (default: a neutral 'Image comparison study')")
        parser.add_argument("--completion-code", default="")
        parser.add_argument("--screen-out-code", default="",
                            help="code for excluded annotators and joins that find nothing left")
        parser.add_argument("--require-crowd-id", action="store_true",
                            help="refuse annotators whose link carries no PROLIFIC_PID")
        parser.add_argument("--gold-pairs", type=int, default=24,
                            help="images that get a degraded copy for gold checks (0 = repeats only)")
        parser.add_argument("--redirect-url", default="")
        parser.add_argument("--launch", action="store_true", help="make the study live at once")
        parser.add_argument("--dry-run", action="store_true",
                            help="only check the bundle: print ok or the error, write nothing")
        parser.add_argument("--attention-check-rate", type=float, default=0.1,
                            help="0-0.5: share of requests that get a repeated-pair attention check (0 = off)")
        parser.add_argument("--attention-min-votes", type=int, default=3,
                            help="regular votes an annotator gives before the first attention check")
        parser.add_argument("--exclude-after-failed-checks", type=int, default=2,
                            help="failed attention checks at which an annotator is excluded (0 = never)")

    def handle(self, *args, **opts):
        if opts["dry_run"]:
            return self._check(opts["bundle_dir"], progress=opts["verbosity"] > 1)
        owner = _owner(opts["owner"])
        try:
            study = create_study_from_bundle(
                bundle_dir=opts["bundle_dir"], slug=opts["study"], owner=owner, name=opts["name"],
                criteria=[c.strip() for c in opts["criteria"].split(",") if c.strip()],
                votes_per_pair=opts["votes_per_pair"], allow_ties=not opts["no_ties"],
                quota_per_annotator=opts["quota"], assignment_timeout_s=opts["timeout"],
                instructions=_text(opts["instructions"]), consent_text=_text(opts["consent"]),
                completion_code=opts["completion_code"], redirect_url=opts["redirect_url"],
                launch=opts["launch"], progress=opts["verbosity"] > 0,
                attention_check_rate=opts["attention_check_rate"],
                attention_min_votes_before_check=opts["attention_min_votes"],
                exclude_after_failed_checks=opts["exclude_after_failed_checks"],
                public_title=opts["public_title"], screen_out_code=opts["screen_out_code"],
                require_crowd_id=opts["require_crowd_id"], gold_pairs=opts["gold_pairs"],
            )
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
