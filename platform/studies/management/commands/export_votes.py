"""manage.py export_votes <slug> --format csv|jsonl|parquet --out <file>."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.export import EXPORT_FORMATS, write_votes
from studies.models import Study


class Command(BaseCommand):
    help = "Write a study's votes (contract section 2) as CSV, JSON Lines or Parquet."

    def add_arguments(self, parser):
        parser.add_argument("study", help="study slug")
        parser.add_argument("--format", choices=sorted(EXPORT_FORMATS), default=None,
                            help="default: from the --out extension")
        parser.add_argument("--out", required=True, type=Path, help="file to write")
        parser.add_argument("--reveal-external-ids", action="store_true",
                            help="annotator = crowd-platform id (e.g. PROLIFIC_PID) instead of the pseudonym")

    def handle(self, *args, **opts):
        try:
            study = Study.objects.get(slug=opts["study"])
        except Study.DoesNotExist:
            raise CommandError(f"no study {opts['study']!r}") from None
        out = opts["out"]
        fmt = opts["format"] or _format_from(out)
        if not out.parent.is_dir():
            raise CommandError(f"--out: folder {out.parent} does not exist")
        n = write_votes(study, fmt, out, reveal_external_ids=opts["reveal_external_ids"])
        self.stderr.write(f"wrote {n} votes of {study.slug!r} to {out} ({fmt})")


def _format_from(out: Path) -> str:
    for fmt, info in EXPORT_FORMATS.items():
        if out.suffix.lower() == info["extension"]:
            return fmt
    raise CommandError(f"--format: give csv, jsonl or parquet (cannot tell from {out.name!r})")
