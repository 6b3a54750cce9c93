"""Votes export in contract section 2: CSV, JSON Lines and Parquet, streamed in chunks.

The format (columns, the tie winner, booleans in CSV) is :mod:`formats.votes`'s; this module
only reads the rows from the database and writes them.

Rows are read with ``QuerySet.values(...).iterator()`` so memory stays flat for large
studies; Parquet is written in row groups of :data:`BATCH_ROWS`.

CSV only: a text cell that begins with ``= + - @``, a tab or a carriage return gets a
leading ``'`` (:func:`formats.votes.csv_safe`), so a spreadsheet never runs a crowd id such as
``=HYPERLINK(...)`` as a formula; the analysis' CSV reader takes it off again. JSON Lines and
Parquet keep values as they are.
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from formats.votes import COUNTED_WHEN, TIE, VOTE_COLUMNS, csv_bool, csv_safe

from .errors import StudyError

__all__ = ["EXPORT_FORMATS", "VOTE_COLUMNS", "counted_votes", "export_filename", "iter_vote_rows", "stream_votes",
           "votes_dataframe", "votes_response", "write_votes"]

BATCH_ROWS = 5000


EXPORT_FORMATS = {
    "csv": {"content_type": "text/csv; charset=utf-8", "extension": ".csv"},
    "jsonl": {"content_type": "application/x-ndjson; charset=utf-8", "extension": ".jsonl"},
    "parquet": {"content_type": "application/vnd.apache.parquet", "extension": ".parquet"},
}

_FIELDS = ("public_id", "criterion__key", "annotator__pseudonym", "annotator__external_id", "comparison__prompt__key",
           "comparison__seed", "system_left__key", "system_right__key", "choice", "winner__key", "response_ms",
           "created_at", "attention_check", "annotator__excluded")
#: The Vote lookups of the vote columns that decide whether a vote counts (:data:`formats.votes.COUNTED_WHEN`).
_COUNTED_LOOKUPS = {"attention_check": "attention_check", "annotator_excluded": "annotator__excluded"}


def counted_votes() -> dict:
    """Filter arguments for ``Vote.objects.filter(...)``: the votes that count in rankings and win rates.

    :data:`formats.votes.COUNTED_WHEN` in the ORM's terms (not an attention check, annotator not excluded).
    """
    return {_COUNTED_LOOKUPS[column]: value for column, value in COUNTED_WHEN.items()}


def iter_vote_rows(study, *, reveal_external_ids: bool = False) -> Iterator[dict]:
    """Yield one dict per vote of ``study`` with exactly :data:`VOTE_COLUMNS`, oldest first.

    Every regular vote and repeated-pair check, excluded annotators' too
    (``annotator_excluded``); gold checks are left out (both sides are one system).

    ``annotator`` is the study pseudonym; with ``reveal_external_ids`` it is the crowd-platform
    id (e.g. PROLIFIC_PID) where one was given. ``created_at`` is ISO 8601 in UTC.
    """
    from annotate.models import Vote

    # Gold checks compare an image with a degraded copy of itself, not two systems: not exported.
    rows = (Vote.objects.filter(study=study).exclude(assignment__gold=True)
            .order_by("created_at", "id").values_list(*_FIELDS))
    for (vote_id, criterion, pseudonym, external_id, prompt, seed, left, right, choice, winner, response_ms,
         created_at, attention_check, excluded) in rows.iterator(chunk_size=2000):
        yield {
            "vote_id": str(vote_id),
            "study": study.slug,
            "criterion": criterion,
            "annotator": (external_id or pseudonym) if reveal_external_ids else pseudonym,
            "prompt": prompt,
            "seed": int(seed),
            "system_left": left,
            "system_right": right,
            "choice": choice,
            "winner": winner if winner is not None else TIE,
            "response_ms": int(response_ms),
            "created_at": created_at.isoformat(),
            "attention_check": bool(attention_check),
            "annotator_excluded": bool(excluded),
        }


def votes_dataframe(study, *, reveal_external_ids: bool = False) -> pd.DataFrame:
    """All votes of ``study`` as a DataFrame with exactly :data:`VOTE_COLUMNS`, in that order.

    ``seed`` and ``response_ms`` are int64, the two flags bool, everything else strings
    (``created_at`` ISO 8601 with time zone, as in the files).
    """
    frame = pd.DataFrame.from_records(list(iter_vote_rows(study, reveal_external_ids=reveal_external_ids)),
                                      columns=list(VOTE_COLUMNS))
    return frame.astype({"seed": "int64", "response_ms": "int64", "attention_check": "bool",
                         "annotator_excluded": "bool"})


def write_votes(study, fmt: str, out, *, reveal_external_ids: bool = False) -> int:
    """Write the votes of ``study`` to ``out`` (a path or a binary file) and return the row count.

    Parameters
    ----------
    fmt : {"csv", "jsonl", "parquet"}
    out : str, Path or binary file object
    """
    _check_format(fmt)
    if isinstance(out, (str, Path)):
        with open(out, "wb") as fh:
            return write_votes(study, fmt, fh, reveal_external_ids=reveal_external_ids)
    rows = iter_vote_rows(study, reveal_external_ids=reveal_external_ids)
    if fmt == "parquet":
        return _write_parquet(rows, out)
    count = 0
    for chunk, n in _text_chunks(rows, fmt):
        out.write(chunk)
        count += n
    return count


def stream_votes(study, fmt: str, *, reveal_external_ids: bool = False) -> Iterator[bytes]:
    """Yield the CSV or JSON Lines export in chunks of bytes (for a streaming HTTP response)."""
    _check_format(fmt)
    if fmt == "parquet":
        raise StudyError("Parquet cannot be streamed row by row; use write_votes")
    rows = iter_vote_rows(study, reveal_external_ids=reveal_external_ids)
    for chunk, _ in _text_chunks(rows, fmt):
        yield chunk


def votes_response(study, fmt: str, *, reveal_external_ids: bool = False):
    """An HTTP download of the votes: streamed for CSV / JSON Lines, a spooled file for Parquet.

    Raises
    ------
    StudyError
        Unknown format.
    """
    from django.http import FileResponse, StreamingHttpResponse

    _check_format(fmt)
    info = EXPORT_FORMATS[fmt]
    if fmt == "parquet":
        spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
        write_votes(study, fmt, spool, reveal_external_ids=reveal_external_ids)
        spool.seek(0)
        response = FileResponse(spool, content_type=info["content_type"], as_attachment=True,
                                filename=export_filename(study, fmt))
    else:
        response = StreamingHttpResponse(stream_votes(study, fmt, reveal_external_ids=reveal_external_ids),
                                         content_type=info["content_type"])
        response["Content-Disposition"] = f'attachment; filename="{export_filename(study, fmt)}"'
    return response


def export_filename(study, fmt: str) -> str:
    """``<slug>-votes.<ext>``, the download name."""
    _check_format(fmt)
    return f"{study.slug}-votes{EXPORT_FORMATS[fmt]['extension']}"


def _check_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise StudyError(f"format: {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")


def _text_chunks(rows: Iterator[dict], fmt: str) -> Iterator[tuple[bytes, int]]:
    buffer = io.StringIO()
    writer = None
    if fmt == "csv":
        writer = csv.DictWriter(buffer, fieldnames=VOTE_COLUMNS, lineterminator="\n")
        writer.writeheader()
    n = 0
    for row in rows:
        if writer is not None:
            writer.writerow({**{key: csv_safe(value) for key, value in row.items()},
                             "attention_check": csv_bool(row["attention_check"]),
                             "annotator_excluded": csv_bool(row["annotator_excluded"])})
        else:
            buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
        if n % 1000 == 0:
            yield buffer.getvalue().encode("utf-8"), 1000
            buffer.seek(0)
            buffer.truncate()
    tail = buffer.getvalue()
    if tail or n == 0:
        yield tail.encode("utf-8"), n % 1000


def _write_parquet(rows: Iterator[dict], out) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.int64() if name in ("seed", "response_ms") else
                         pa.bool_() if name in ("attention_check", "annotator_excluded") else pa.string())
                        for name in VOTE_COLUMNS])
    count = 0
    with pq.ParquetWriter(out, schema) as writer:
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count
