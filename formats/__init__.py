"""The data formats the three parts of the project hand to each other, each defined once.

One module per format, importing neither torch nor Django (Pillow and the standard
library only), so that generation, the platform and the analysis all read and write
through the same rules:

- :mod:`formats.ids`: the id rule (systems, prompts, criteria).
- :mod:`formats.bundle`: the study bundle, ``qsched-bundle/1`` (contract section 1):
  the one validator, its typed result and :class:`~formats.bundle.BundleError`.
- :mod:`formats.votes`: the votes export (contract section 2): columns, choices,
  which votes count, a tie as half a win.
- :mod:`formats.report`: the analysis summary, ``qsched-analysis/1`` (contract
  section 3): format id, file and plot names, the headline the platform shows.

``tests/drift/`` holds small bundles and vote files run through every reader.
"""
