"""Read and validate votes (contract section 2) from CSV, JSON Lines or Parquet.

The format is :mod:`formats.votes`'s (columns, choices, id columns, missing-value
spellings, booleans, CSV escaping); this module reads files and checks them fast.

Rules (a file that breaks one is refused whole, the message naming the column
and the rows or values; nothing is analysed):

* every contract column is present; a UTF-8 byte-order mark before the CSV
  header is ignored;
* identifiers (``vote_id``, ``study``, ``criterion``, ``annotator``,
  ``prompt``, system ids, ``winner``, ``choice``) have stray leading/trailing
  whitespace stripped before anything else, so ``"A "`` and ``"A"`` are one
  system (chosen over refusing: spreadsheets and hand edits add such spaces,
  and stripping cannot merge two ids the contract allows, as ids never hold
  spaces);
* ``criterion``, ``prompt`` and system ids follow the id rule
  (:mod:`formats.ids`, contract section 1); no identifier may be empty or a
  spelling of a missing value (``NaN``, ``None``, ``null``, ``NA``);
* ``vote_id`` is unique: a file with duplicated ids is refused, naming them
  (contract section 3: duplicates would be counted twice);
* ``choice`` is left/right/tie, ``winner`` agrees with it, the two systems differ.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from formats.bundle import MANIFEST_NAME, ManifestSpec, check_manifest, read_manifest
from formats.ids import ID_RULE, is_id
from formats.votes import (
    CHOICES,
    CSV_ESCAPE,
    FALSE_WORDS,
    ID_COLUMNS,
    MISSING_SPELLINGS,
    TIE,
    TRUE_WORDS,
    VOTE_COLUMNS,
    csv_unescape,
)

__all__ = ["REQUIRED_COLUMNS", "VotesError", "read_bundle", "read_bundle_metrics", "read_votes", "validate_votes"]

#: The columns of a votes file (:data:`formats.votes.VOTE_COLUMNS`).
REQUIRED_COLUMNS = VOTE_COLUMNS
#: Columns the analysis itself needs; the others are only checked for presence.
_CATEGORY_COLUMNS = ("study", "criterion", "annotator", "prompt", "system_left", "system_right", "choice", "winner")
_BOOL_COLUMNS = ("attention_check", "annotator_excluded")
_TRUE, _FALSE = TRUE_WORDS, FALSE_WORDS
#: Columns whose values are identifiers: stripped of surrounding whitespace.
_ID_COLUMNS = ("vote_id",) + _CATEGORY_COLUMNS
#: Identifiers that must follow the id rule of contract section 1.
_STRICT_ID_COLUMNS = ID_COLUMNS
#: What a missing value turns into on its way through CSV, pandas or JSON: never an id.
_MISSING_SPELLINGS = MISSING_SPELLINGS


class VotesError(ValueError):
    """Votes that break the contract; the message names the column and the rows."""


def read_votes(path: str | Path) -> pd.DataFrame:
    """Read a votes export and validate it.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (header row), ``.jsonl`` / ``.json`` (one JSON object per line)
        or ``.parquet`` file with the columns of contract section 2.

    Returns
    -------
    pandas.DataFrame
        One row per vote, string columns as categoricals, booleans as bool,
        ``seed`` as int64 and ``response_ms`` as float64 (see :func:`validate_votes`).

    Raises
    ------
    VotesError
        Unknown file type, empty input, missing columns, unknown choice values,
        winners that contradict the choice, or unparsable booleans.
    FileNotFoundError
        The file does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"votes file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df = _read_csv(path)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        df = _read_jsonl(path)
    elif suffix in (".parquet", ".pq"):
        df = pd.read_parquet(path)
    else:
        raise VotesError(f"{path}: unknown votes file type {suffix!r}; expected .csv, .jsonl or .parquet")
    return validate_votes(df, source=str(path))


def _read_csv(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if path.stat().st_size == 0:
        raise VotesError(f"{path}: empty file (no header row, no votes)")
    with open(path, encoding="utf-8-sig", newline="") as fh:  # -sig: a byte-order mark is not a column name
        header = fh.readline().rstrip("\r\n").split(",")
    header = [h.strip().strip('"') for h in header]
    _check_columns(header, str(path))
    types = {c: pa.dictionary(pa.int32(), pa.string()) for c in _CATEGORY_COLUMNS}
    types.update({"vote_id": pa.string(), "created_at": pa.string(), "seed": pa.int64(),
                  "response_ms": pa.float64()})
    types.update({c: pa.bool_() for c in _BOOL_COLUMNS})

    def read(column_types):
        options = pacsv.ConvertOptions(column_types=column_types, true_values=list(_TRUE), false_values=list(_FALSE),
                                       strings_can_be_null=False, quoted_strings_can_be_null=False)
        return pacsv.read_csv(path, convert_options=options)

    try:
        table = read(types)
    except pa.ArrowInvalid:
        # A seed or flag pyarrow cannot convert: read those as text, so validate_votes refuses them
        # with the same message as the JSON Lines and Parquet readers (column and rows named).
        try:
            table = read({**types, "seed": pa.string(), **{c: pa.string() for c in _BOOL_COLUMNS}})
        except pa.ArrowInvalid as exc:
            raise VotesError(f"{path}: cannot parse the CSV: {exc}") from None
    frame = table.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow") if t == pa.string() else None)
    for column in ("vote_id", *_CATEGORY_COLUMNS):
        frame[column] = _csv_unescaped(frame[column])
    return frame


def _csv_unescaped(series: pd.Series) -> pd.Series:
    """Text cells as written before :func:`formats.votes.csv_safe` (one leading ``'`` off), categories kept."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = pd.Index(series.cat.categories.astype(str))
        if not cats.str.startswith(CSV_ESCAPE).any():
            return series
        values = pd.Index([csv_unescape(c) for c in cats])
        codes, uniques = pd.factorize(values)  # two cells that read back equal become one category
        old = series.cat.codes.to_numpy()
        new = np.where(old >= 0, codes[np.maximum(old, 0)], -1)
        return pd.Series(pd.Categorical.from_codes(new, uniques), index=series.index, name=series.name)
    text = series.astype("string")
    escaped = text.str.startswith(CSV_ESCAPE).fillna(False).to_numpy(bool)
    if not escaped.any():
        return series
    text[escaped] = text[escaped].str.slice(1)
    return text


def _read_jsonl(path: Path) -> pd.DataFrame:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise VotesError(f"{path}, line {lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise VotesError(f"{path}, line {lineno}: expected a JSON object per line")
            rows.append(row)
    if not rows:
        raise VotesError(f"{path}: empty input (no votes)")
    return pd.DataFrame.from_records(rows)


def _check_columns(columns, source: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in set(columns)]
    if missing:
        raise VotesError(f"{source}: missing column(s) {', '.join(missing)}; "
                         f"a votes export needs {', '.join(REQUIRED_COLUMNS)}")


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(int(i) + 2) for i in idx[:limit])  # +2: 1-based, after the header
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"row(s) {shown}{more}"


def _as_bool(series: pd.Series, name: str, source: str) -> pd.Series:
    if series.dtype == bool:
        return series
    if series.isna().any():
        raise VotesError(f"{source}: column {name} has empty values at {_rows(series.isna().to_numpy())}")
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy()
        bad = ~np.isin(values, (0, 1))
        if bad.any():
            raise VotesError(f"{source}: column {name} must be true/false, got {values[bad][0]!r} at {_rows(bad)}")
        return series.astype(bool)
    text = series.astype(str)
    is_true, is_false = text.isin(_TRUE).to_numpy(), text.isin(_FALSE).to_numpy()
    bad = ~(is_true | is_false)
    if bad.any():
        raise VotesError(f"{source}: column {name} must be true/false, got {text[bad].iloc[0]!r} at {_rows(bad)}")
    return pd.Series(is_true, index=series.index, name=name)


def _drop_unused(s: pd.Series) -> pd.Series:
    """``remove_unused_categories`` without its sort, when nothing is unused."""
    codes = s.cat.codes.to_numpy()
    used = np.bincount(codes[codes >= 0], minlength=len(s.cat.categories)) > 0
    return s if used.all() else s.cat.remove_unused_categories()


def validate_votes(df: pd.DataFrame, *, source: str = "votes") -> pd.DataFrame:
    """Check votes against contract section 2 and normalise the column types.

    Parameters
    ----------
    df : pandas.DataFrame
        Votes with (at least) the contract columns.
    source : str
        Name used in error messages (a file name).

    Returns
    -------
    pandas.DataFrame
        A new frame: identifier columns as categoricals, ``attention_check`` and
        ``annotator_excluded`` as bool, ``seed`` as int64.

    Raises
    ------
    VotesError
        Empty input, missing columns, empty identifiers, unknown ``choice`` values,
        ``system_left == system_right``, or a ``winner`` that contradicts ``choice``.
    """
    if not isinstance(df, pd.DataFrame):
        raise VotesError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    _check_columns(df.columns, source)
    if len(df) == 0:
        raise VotesError(f"{source}: empty input (no votes)")
    out = df.copy()
    out.index = pd.RangeIndex(len(out))
    for col in _CATEGORY_COLUMNS:
        out[col] = _categorical(out[col], col, source)
    _check_choices(out["choice"], source)
    for col in ("annotator", "prompt", "system_left", "system_right", "criterion"):
        empty = (out[col] == "").to_numpy() if "" in out[col].cat.categories else None
        if empty is not None and empty.any():
            raise VotesError(f"{source}: column {col} has empty values at {_rows(empty)}")
    _check_ids(out, source)
    out["vote_id"] = _checked_vote_ids(out["vote_id"], source)
    for col in _BOOL_COLUMNS:
        out[col] = _as_bool(out[col], col, source)
    out["seed"] = _checked_seeds(out["seed"], source)
    if out["response_ms"].dtype != np.float64:
        out["response_ms"] = pd.to_numeric(out["response_ms"], errors="coerce").astype(np.float64)
    _check_systems_and_winner(out, source)
    out.attrs["qsched_validated"] = True
    return out


def _categorical(s: pd.Series, col: str, source: str) -> pd.Series:
    """Column ``col`` as a categorical of strings, unused categories dropped, surrounding whitespace stripped."""
    if s.isna().any():
        raise VotesError(f"{source}: column {col} has empty values at {_rows(s.isna().to_numpy())}")
    if not isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(str).astype("category")
    if not pd.api.types.is_string_dtype(s.cat.categories.dtype) and s.cat.categories.dtype != object:
        s = s.cat.rename_categories([str(c) for c in s.cat.categories])
    return _strip_categories(_drop_unused(s))


def _check_choices(choice: pd.Series, source: str) -> None:
    """Every ``choice`` is one of :data:`formats.votes.CHOICES`."""
    unknown = [c for c in choice.cat.categories if c not in CHOICES]
    if unknown:
        bad = choice.isin(unknown).to_numpy()
        raise VotesError(f"{source}: unknown choice value(s) {', '.join(map(repr, unknown))} at {_rows(bad)}; "
                         f"choice must be one of {', '.join(CHOICES)}")


def _checked_seeds(seed: pd.Series, source: str) -> pd.Series:
    """``seed`` as int64; a value that is not a whole number is refused with its rows."""
    seed = pd.to_numeric(seed, errors="coerce")
    bad_seed = seed.isna().to_numpy() | (seed.to_numpy(np.float64, na_value=np.nan) % 1 != 0)
    if bad_seed.any():
        raise VotesError(f"{source}: column seed must be an integer, bad value at {_rows(bad_seed)}")
    return seed.astype(np.int64)


def _strip_categories(s: pd.Series) -> pd.Series:
    """Strip surrounding whitespace from the categories, merging those that become equal."""
    cats = pd.Index(s.cat.categories.astype(str))
    stripped = cats.str.strip()
    if (stripped == cats).all():
        return s
    uniq_codes, uniq = pd.factorize(stripped)
    codes = s.cat.codes.to_numpy()
    new_codes = np.where(codes >= 0, uniq_codes[np.maximum(codes, 0)], -1)
    return pd.Series(pd.Categorical.from_codes(new_codes, pd.Index(uniq)), index=s.index, name=s.name)


def _check_ids(df: pd.DataFrame, source: str) -> None:
    """Identifiers: never empty or a missing-value spelling; strict columns follow the contract's id rule."""
    for col in _ID_COLUMNS:
        if col == "vote_id" or col not in df.columns:
            continue
        cats = df[col].cat.categories
        missing = [c for c in cats if c.strip().lower() in _MISSING_SPELLINGS or c == ""]
        if missing:
            bad = df[col].isin(missing).to_numpy()
            raise VotesError(f"{source}: column {col} has an empty or missing value ({missing[0]!r}) at {_rows(bad)}; "
                             "every vote needs a real identifier")
        if col in _STRICT_ID_COLUMNS:
            wrong = [c for c in cats if not is_id(c)]
            if wrong:
                bad = df[col].isin(wrong).to_numpy()
                raise VotesError(f"{source}: column {col} has id {wrong[0]!r} at {_rows(bad)}; ids are {ID_RULE} "
                                 "(contract section 1)")


def _checked_vote_ids(ids: pd.Series, source: str) -> pd.Series:
    """``vote_id`` stripped, non-empty and unique; duplicates are refused with the ids named."""
    if ids.isna().any():
        raise VotesError(f"{source}: column vote_id has empty values at {_rows(ids.isna().to_numpy())}")
    if hasattr(ids.array, "__arrow_array__"):  # Arrow-backed strings (CSV): the whole check in Arrow's C++ kernels
        return _checked_arrow_vote_ids(ids, source)
    if isinstance(ids.dtype, pd.CategoricalDtype):
        ids = _strip_categories(ids)
        text = ids.cat.categories.astype(str)
        codes = ids.cat.codes.to_numpy()
        dup_codes = np.flatnonzero(np.bincount(codes, minlength=len(text)) > 1)
        dups = [text[c] for c in dup_codes[:5]]
        n_dup = len(dup_codes)
        values = pd.Series(text[codes], index=ids.index)
    else:
        values = ids.astype("string").str.strip()
        dup_mask = values.duplicated(keep=False).to_numpy()
        n_dup = 0
        dups = []
        if dup_mask.any():
            dup_values = pd.unique(values[dup_mask])
            n_dup, dups = len(dup_values), [str(v) for v in dup_values[:5]]
    length = values.str.len().to_numpy()
    empty = length == 0
    short = np.flatnonzero(length <= max(map(len, _MISSING_SPELLINGS)))  # only these can spell a missing value
    if len(short):
        empty[short] |= values.iloc[short].str.lower().isin(list(_MISSING_SPELLINGS)).to_numpy(bool)
    if empty.any():
        raise VotesError(f"{source}: column vote_id has an empty or missing value at {_rows(empty)}")
    if n_dup:
        more = f" and {n_dup - len(dups)} more" if n_dup > len(dups) else ""
        raise VotesError(f"{source}: duplicated vote_id {', '.join(map(repr, dups))}{more}; vote_id must be unique "
                         "(a duplicated vote would be counted twice); remove the repeated rows")
    return values


def _checked_arrow_vote_ids(ids: pd.Series, source: str) -> pd.Series:
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.utf8_trim_whitespace(pa.chunked_array(ids.array.__arrow_array__()))
    empty = pc.or_(pc.equal(pc.utf8_length(arr), 0),
                   pc.is_in(pc.utf8_lower(arr), value_set=pa.array(sorted(_MISSING_SPELLINGS))))
    if pc.any(empty).as_py():
        raise VotesError(f"{source}: column vote_id has an empty or missing value at "
                         f"{_rows(empty.to_numpy(zero_copy_only=False))}")
    if len(pc.unique(arr)) < len(arr):
        counts = pc.value_counts(arr)
        repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
        dups = [str(v) for v in repeated[:5].to_pylist()]
        more = f" and {len(repeated) - len(dups)} more" if len(repeated) > len(dups) else ""
        raise VotesError(f"{source}: duplicated vote_id {', '.join(map(repr, dups))}{more}; vote_id must be unique "
                         "(a duplicated vote would be counted twice); remove the repeated rows")
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=ids.index, name=ids.name)


def _codes_in(cat: pd.Series, categories) -> np.ndarray:
    """Codes of ``cat`` in the index space of ``categories`` (-1 where absent)."""
    lookup = pd.Index(categories).get_indexer(cat.cat.categories)
    codes = cat.cat.codes.to_numpy()
    return np.where(codes >= 0, lookup[codes], -1)


def _check_systems_and_winner(df: pd.DataFrame, source: str) -> None:
    systems = pd.Index(sorted(set(df["system_left"].cat.categories) | set(df["system_right"].cat.categories)))
    left = _codes_in(df["system_left"], systems)
    right = _codes_in(df["system_right"], systems)
    same = left == right
    if same.any():
        raise VotesError(f"{source}: system_left equals system_right at {_rows(same)}; a vote compares two systems")
    if TIE in systems:
        raise VotesError(f"{source}: {TIE!r} cannot be a system id (it is the winner value for ties)")
    winner = _codes_in(df["winner"], systems.append(pd.Index([TIE])))
    choice = df["choice"].cat.codes.to_numpy()
    choice_names = df["choice"].cat.categories
    expected = np.select(
        [choice == choice_names.get_loc(n) if n in choice_names else np.zeros(len(df), bool) for n in CHOICES],
        [left, right, np.full(len(df), len(systems))],
        default=-2,
    )
    bad = winner != expected
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise VotesError(
            f"{source}: winner contradicts choice at {_rows(bad)} (first: choice={df['choice'].iloc[i]!r}, "
            f"left={df['system_left'].iloc[i]!r}, right={df['system_right'].iloc[i]!r}, winner={df['winner'].iloc[i]!r})"
        )


def read_bundle_metrics(path: str | Path) -> tuple[dict, dict]:
    """Read system- and image-level metrics from a study bundle manifest.

    The manifest is checked by the bundle format's own validator (:func:`formats.bundle.check_manifest`,
    every rule that needs no image file: the analysis reads only ``manifest.json``).

    Parameters
    ----------
    path : str or Path
        A bundle directory (holding ``manifest.json``) or the manifest itself.

    Returns
    -------
    (dict, dict)
        ``{system_id: {metric: value}}`` and
        ``{(system_id, prompt_id, seed): {metric: value}}``.

    Raises
    ------
    formats.bundle.BundleError
        The manifest breaks a rule of contract section 1 (the message names entry and field).
    FileNotFoundError
        No manifest at ``path``.
    """
    spec = read_bundle(path)
    return spec.system_metrics(), spec.image_metrics()


def read_bundle(path: str | Path) -> ManifestSpec:
    """The checked manifest of a bundle directory or of a ``manifest.json`` (see :func:`read_bundle_metrics`)."""
    path = Path(path)
    manifest = path / MANIFEST_NAME if path.is_dir() else path
    if not manifest.exists():
        raise FileNotFoundError(f"bundle manifest not found: {manifest}")
    return check_manifest(read_manifest(manifest))
