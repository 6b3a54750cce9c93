"""Shape ``study.progress`` (written by studies.tasks.refresh_progress) for the templates."""
from django.utils.dateparse import parse_datetime

from formats.votes import win_rate


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def progress_summary(progress: dict) -> dict:
    """Progress numbers plus the result table grouped by criterion.

    Parameters
    ----------
    progress : dict
        ``studies.progress.compute_progress`` output, or ``{}`` before the first refresh.

    Returns
    -------
    dict
        ``ready`` (False before the first refresh), ``target``, ``collected``, ``percent``,
        ``annotators_total``, ``annotators_active``, ``computed_at`` (datetime or None),
        ``criteria``: per criterion its counts, percent and ``pairs`` rows with
        ``a``, ``b``, ``a_wins``, ``b_wins``, ``ties``, ``n`` and ``a_rate`` (:func:`formats.votes.win_rate`, a tie
        half a win, in %).
    """
    if not progress:
        return {"ready": False, "criteria": []}
    rows_by_criterion: dict[str, list[dict]] = {}
    for row in progress.get("pair_table", []):
        n = row["a_wins"] + row["b_wins"] + row["ties"]
        rate = win_rate(row["a_wins"], row["b_wins"], row["ties"])
        rate = round(100.0 * rate, 1) if rate is not None else None
        rows_by_criterion.setdefault(row["criterion"], []).append({**row, "n": n, "a_rate": rate})
    criteria = [
        {**entry, "percent": _percent(entry["collected"], entry["target"]),
         "pairs": rows_by_criterion.get(entry["criterion"], [])}
        for entry in progress.get("by_criterion", [])
    ]
    computed_at = progress.get("computed_at")
    return {
        "ready": True,
        "target": progress.get("target", 0),
        "collected": progress.get("collected", 0),
        "percent": _percent(progress.get("collected", 0), progress.get("target", 0)),
        "annotators_total": progress.get("annotators_total", 0),
        "annotators_active": progress.get("annotators_active", 0),
        "computed_at": parse_datetime(computed_at) if computed_at else None,
        "criteria": criteria,
    }
