"""Analysis of pairwise human-preference votes.

Turns votes (contract section 2) into rankings, intervals, agreement and
metric-correlation statistics (contract section 3), fast at a million votes.

Entry points
------------
``python -m analysis report votes.csv --out DIR``
    the command line (see ``analysis/__main__.py``).
:func:`analysis.report.build_summary` / :func:`analysis.report.write_report`
    the Python API.
:func:`analysis.io.read_votes`
    read and validate a votes file.
:func:`analysis.power.votes_needed`
    the power calculator.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
