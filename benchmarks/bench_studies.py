"""Time bundle import, progress and vote export on a throw-away SQLite database; print a table.

    .venv/bin/python benchmarks/bench_studies.py --prompts 300 --votes 100000

Everything (database, media, bundle) lives in a temporary folder that is removed at the end.
Peak memory is the growth of the process's maximum resident size during each step.
"""
import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=300, help="prompts per system (3 systems, 1 seed)")
    parser.add_argument("--votes", type=int, default=100_000, help="synthetic votes to export")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qsched-bench-") as tmp:
        tmp = Path(tmp)
        os.environ.update(DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}", MEDIA_ROOT=str(tmp / "media"),
                          QSCHED_VAR_DIR=str(tmp / "var"), DJANGO_SETTINGS_MODULE="qsched_platform.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        rows = run(tmp, args.prompts, args.votes)
    print(f"{'step':<34}{'seconds':>10}{'peak RSS growth MiB':>22}")
    for step, seconds, mib in rows:
        print(f"{step:<34}{seconds:>10.2f}{mib:>22.1f}")


def run(tmp: Path, n_prompts: int, n_votes: int) -> list:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from studies.export import write_votes
    from studies.progress import compute_progress
    from studies.services import create_study_from_bundle
    from tests.platform.bundles import write_bundle

    owner = get_user_model().objects.create_user("bench")
    bundle = write_bundle(tmp / "bundle", n_prompts=n_prompts)
    rows = []
    with measure(rows, f"import {3 * n_prompts} images"):
        study = create_study_from_bundle(bundle_dir=bundle, slug="bench", owner=owner,
                                         criteria=["overall", "alignment"], progress=True)
    with measure(rows, f"insert {n_votes} synthetic votes"), transaction.atomic():
        add_votes(study, n_votes)
    with measure(rows, "compute_progress"):
        compute_progress(study)
    for fmt in ("csv", "jsonl", "parquet"):
        with measure(rows, f"export {fmt}"):
            write_votes(study, fmt, tmp / f"votes.{fmt}")
    return rows


def add_votes(study, n_votes: int) -> None:
    import random
    from datetime import timedelta

    from django.utils import timezone

    from annotate.models import Annotator, Assignment, Vote

    rng = random.Random(0)
    items = list(study.work_items.select_related("comparison__image_a", "comparison__image_b"))
    k = max(1, -(-n_votes // len(items)))
    annotators = Annotator.objects.bulk_create([Annotator(study=study, pseudonym=f"a{i:05d}") for i in range(k)])
    expires = timezone.now() + timedelta(hours=1)
    made = 0
    for annotator in annotators:
        batch = items[: n_votes - made]
        assignments = Assignment.objects.bulk_create([
            Assignment(annotator=annotator, work_item=w, left_image=w.comparison.image_a,
                       right_image=w.comparison.image_b, status="voted", expires_at=expires) for w in batch],
            batch_size=2000)
        assignments = Assignment.objects.filter(annotator=annotator).select_related("work_item__comparison")
        votes = []
        for a, w in zip(assignments, batch, strict=True):
            choice = rng.choice(["left", "right", "tie"])
            winner = {"left": w.comparison.image_a.system_id, "right": w.comparison.image_b.system_id,
                      "tie": None}[choice]
            votes.append(Vote(assignment=a, study=study, annotator=annotator, comparison=w.comparison,
                              criterion_id=w.criterion_id, system_left_id=w.comparison.image_a.system_id,
                              system_right_id=w.comparison.image_b.system_id, choice=choice, winner_id=winner,
                              response_ms=rng.randint(300, 9000)))
        Vote.objects.bulk_create(votes, batch_size=2000)
        made += len(votes)
        if made >= n_votes:
            break


class measure:
    def __init__(self, rows: list, step: str):
        self.rows, self.step = rows, step

    def __enter__(self):
        self.rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        if exc[0] is None:
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.rss) / 1024
            self.rows.append((self.step, time.perf_counter() - self.start, grown))


if __name__ == "__main__":
    main()
