"""Build a live study straight through the ORM for the annotate tests (no bundle import)."""
import io
import itertools

from django.core.files.base import ContentFile
from PIL import Image as PILImage

from studies.models import Comparison, Criterion, Image, Prompt, Study, System, WorkItem


def _png(colour) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_study(owner, *, slug="demo", systems=("fp16", "w4a8", "w4a8-qsched"), n_prompts=2, seeds=(0,),
               criteria=("overall",), k=3, status=Study.Status.LIVE, **options) -> Study:
    """A study with every system pair compared on every (prompt, seed), one work item per criterion."""
    study = Study.objects.create(slug=slug, name=f"Study {slug}", owner=owner, status=status,
                                 votes_per_pair=k, **options)
    for position, key in enumerate(criteria):
        Criterion.objects.create(study=study, key=key, question=f"Which image is better ({key})?", position=position)
    system_rows = [System.objects.create(study=study, key=key, label=key.upper()) for key in systems]
    for p in range(n_prompts):
        prompt = Prompt.objects.create(study=study, key=f"p{p:04d}", text=f"prompt {p} <b>bold</b> & <script>x</script>")
        for seed in seeds:
            images = []
            for s_index, system in enumerate(system_rows):
                colour = (40 + 80 * s_index, 200 - 60 * s_index, (30 * p + 7 * seed) % 256)
                image = Image(study=study, system=system, prompt=prompt, seed=seed,
                              bundle_path=f"images/{system.key}/{prompt.key}_s{seed}.png")
                image.file.save("x.png", ContentFile(_png(colour)), save=False)
                image.save()
                images.append(image)
            for a, b in itertools.combinations(images, 2):
                comparison = Comparison.objects.create(study=study, prompt=prompt, seed=seed, image_a=a, image_b=b)
                for criterion in study.criteria.all():
                    WorkItem.objects.create(study=study, comparison=comparison, criterion=criterion)
    return study


def make_bulk_study(owner, *, slug="bulk", systems=("fp16", "w4a8", "w4a8-qsched"), n_prompts=1000,
                    criteria=("overall",), k=3, status=Study.Status.LIVE, **options) -> Study:
    """A large study built with bulk inserts: every system pair on every prompt (seed 0), one
    work item per criterion. All images of a system share one stored file, so 10,000 prompts
    take seconds, not minutes (for tests and benchmarks of study size, not of images)."""
    from django.core.files.storage import default_storage

    study = Study.objects.create(slug=slug, name=f"Study {slug}", owner=owner, status=status,
                                 votes_per_pair=k, **options)
    crits = Criterion.objects.bulk_create([
        Criterion(study=study, key=key, question=f"Which image is better ({key})?", position=position)
        for position, key in enumerate(criteria)])
    system_rows = System.objects.bulk_create([System(study=study, key=key, label=key.upper()) for key in systems])
    files = [default_storage.save(f"studies/{slug}/shared-{i}.png", ContentFile(_png((40 + 80 * i, 90, 30))))
             for i in range(len(system_rows))]
    prompts = Prompt.objects.bulk_create(
        [Prompt(study=study, key=f"p{p:05d}", text=f"prompt {p}") for p in range(n_prompts)], batch_size=2000)
    images = []
    for prompt in prompts:
        for system, name in zip(system_rows, files, strict=True):
            image = Image(study=study, system=system, prompt=prompt, seed=0, bundle_path=f"{system.key}/{prompt.key}.png")
            image.file.name = name
            images.append(image)
    Image.objects.bulk_create(images, batch_size=2000)
    comparisons = Comparison.objects.bulk_create([
        Comparison(study=study, prompt=a.prompt, seed=0, image_a=a, image_b=b)
        for start in range(0, len(images), len(system_rows))
        for a, b in itertools.combinations(images[start:start + len(system_rows)], 2)], batch_size=2000)
    WorkItem.objects.bulk_create([WorkItem(study=study, comparison=c, criterion=crit)
                                  for c in comparisons for crit in crits], batch_size=2000)
    return study
