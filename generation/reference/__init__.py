"""The project's own reference model: a procedural shapes world, a tiny CLIP scorer
and a small few-step text-to-image diffusers pipeline trained on it.

Modules: :mod:`.world` (captioned scenes), :mod:`.tokenizer` (offline word-level
tokenizer), :mod:`.scorer` / :mod:`.train_scorer` (tiny open_clip CLIP),
:mod:`.model` / :mod:`.train_diffusion` (StableDiffusionPipeline components),
:mod:`.grid` (captioned sample grids), :mod:`.results` (the README table) and
:mod:`.demo` (the demo study bundle). Weights live in ``weights/``.
"""
