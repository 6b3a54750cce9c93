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
