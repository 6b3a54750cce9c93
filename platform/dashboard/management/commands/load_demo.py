"""Create the demo researcher and the live demo study (idempotent)."""
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from qsched_platform.env import write_private_file
from studies.bundle import BundleError
from studies.models import Study
from studies.services import DEFAULT_QUESTIONS, StudyError, create_study_from_bundle

from generation.reference.demo import build_demo_bundle

DEMO_CRITERIA = ("overall", "alignment")
DEMO_INSTRUCTIONS = (
    "You will see a text prompt and two pictures made for it. Pick the picture you prefer "
    "for the question asked: click it or press 1 (left) or 2 (right); press 3 if they are equally good."
)
DEMO_CONSENT = (
    "This is a demo study of the qsched-eval platform. Your choices are stored under a random "
    "pseudonym and used only to show how the platform works."
)


class Command(BaseCommand):
    help = ("Create the researcher account and the demo study (bundle generated on the CPU by the project's "
            "reference model: FP32, W4A8 and W4A8 + Q-Sched), "
            "launched. Safe to run again: existing user and study are kept.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="researcher")
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--bundle-dir", type=Path, default=None,
                            help="where to generate the bundle (default: <var>/demo-bundle)")
        parser.add_argument("--credentials-file", type=Path, default=None,
                            help="where the generated password is kept (default: <var>/demo-credentials.txt)")

    def handle(self, *args, username: str, slug: str, bundle_dir: Path | None, credentials_file: Path | None,
               **options):
        var_dir = Path(settings.VAR_DIR)
        credentials_file = credentials_file or var_dir / "demo-credentials.txt"
        password = self._ensure_researcher(username, credentials_file)
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            study = self._create_study(slug, username, bundle_dir or var_dir / "demo-bundle")
            self.stdout.write(self.style.SUCCESS(f"created study {slug!r} ({study.get_status_display().lower()})"))
        else:
            self.stdout.write(f"study {slug!r} already exists ({study.get_status_display().lower()}); kept as is")
        self.stdout.write(f"researcher login: {username} / {password}  (saved in {credentials_file})")

    def _ensure_researcher(self, username: str, credentials_file: Path) -> str:
        """Create the user or make its password match the credentials file; return the password."""
        password = _read_password(credentials_file, username)
        if password is None:
            password = secrets.token_urlsafe(12)
            write_private_file(credentials_file, f"{username}\n{password}\n", replace=True)
        user, created = get_user_model().objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"{'created' if created else 'updated'} researcher {username!r}")
        return password

    def _create_study(self, slug: str, username: str, bundle_dir: Path) -> Study:
        self.stdout.write(f"generating the demo bundle with the reference model into {bundle_dir}")
        build_demo_bundle(bundle_dir)
        owner = get_user_model().objects.get(username=username)
        try:
            with transaction.atomic():
                return create_study_from_bundle(
                    bundle_dir=bundle_dir, slug=slug, owner=owner, name="Demo: reference model, FP32 and W4A8, each with and without Q-Sched",
                    screen_out_code="DEMO-SCREENED-OUT",
                    criteria=[{"key": key, "question": DEFAULT_QUESTIONS[key]} for key in DEMO_CRITERIA],
                    votes_per_pair=3, allow_ties=True, quota_per_annotator=40, instructions=DEMO_INSTRUCTIONS,
                    consent_text=DEMO_CONSENT, completion_code="DEMO-THANKS", launch=True, progress=True,
                )
        except (BundleError, StudyError) as error:
            raise CommandError(f"the demo bundle was refused: {error}") from error


def _read_password(path: Path, username: str) -> str | None:
    if not path.exists():
        return None
    lines = path.read_text().split()
    return lines[1] if len(lines) >= 2 and lines[0] == username else None
