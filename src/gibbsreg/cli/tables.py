"""Reading the command line's data files: checks that name the problem, then the columns."""

from __future__ import annotations

import csv
import os

import numpy as np

from .errors import DataError, UsageError


def check_readable(path: str, what: str = "data file") -> None:
    """A clear DataError for a missing, unreadable or empty file, or a directory."""
    if not os.path.exists(path):
        raise DataError(f"{what} {path!r} does not exist")
    if os.path.isdir(path):
        raise DataError(f"{what} {path!r} is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise DataError(f"cannot read {what} {path!r}: permission denied")
    if os.path.getsize(path) == 0:
        raise DataError(f"{what} {path!r} is empty")


def read_csv(path: str) -> dict[str, list[str]]:
    """Columns of a CSV file with a header row, as lists of strings."""
    check_readable(path)
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise DataError(f"data file {path!r} is empty") from None
            header = [h.strip() for h in header]
            if len(set(header)) != len(header):
                dup = sorted({h for h in header if header.count(h) > 1})
                raise DataError(f"{path}: the header names column(s) {dup} more than once")
            cols: dict[str, list[str]] = {h: [] for h in header}
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}, line {lineno}: {len(row)} fields, expected {len(header)}")
                for h, v in zip(header, row):
                    cols[h].append(v.strip())
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a text (CSV) file") from None
    except OSError as err:
        raise DataError(f"cannot read {path!r}: {err.strerror or err}") from None
    except csv.Error as err:
        raise DataError(f"{path} is not a valid CSV file: {err}") from None
    if not any(cols.values()) or not cols[header[0]]:
        raise DataError(f"data file {path!r} has a header but no data rows")
    return cols


def require_columns(cols, names, path) -> None:
    missing = [n for n in names if n not in cols]
    if missing:
        which = "column" if len(missing) == 1 else "columns"
        raise UsageError(f"{which} {', '.join(map(repr, missing))} not in {path}; its columns are {list(cols)}")


def numeric(cols, name, path, first_line: int = 2) -> np.ndarray:
    """A column of strings as floats ("" is NaN); a non-number is a DataError naming its line."""
    require_columns(cols, [name], path)
    values = cols[name]
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v) if v != "" else np.nan
        except ValueError:
            raise DataError(f"column {name!r} of {path} is not numeric: {v!r} on line {first_line + i}") from None
    return out


def stream_csv_stats(path: str, y: str, x=None, groups=None, *, intercept: bool = True,
                     chunk_rows: int = 100_000):
    """Mergeable sufficient statistics of a CSV file read in chunks of rows (bounded memory, no extra needed).

    ``groups``: one group column, or a list of several (statistics per cell of the factors).
    Each chunk of ``chunk_rows`` rows becomes one FlatStats/GroupedStats and the chunks are merged
    exactly (gibbsreg.merge), so memory holds one chunk, never the file.  Errors name the column and
    the line: a non-numeric value, NaN or inf, an empty group label.
    """
    from .. import merge, sufficient_stats

    check_readable(path)
    group_columns = [groups] if isinstance(groups, str) else list(groups or [])
    parts = []
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise DataError(f"data file {path!r} is empty") from None
            cols = {h: None for h in header}
            xnames = list(x) if x else [c for c in header if c != y and c not in group_columns]
            require_columns(cols, [y] + xnames + group_columns, path)
            idx = {h: i for i, h in enumerate(header)}
            first_line = 2
            while True:
                rows = []
                for row in reader:
                    if row:
                        if len(row) != len(header):
                            raise DataError(f"{path}, line {first_line + len(rows)}: {len(row)} fields, "
                                            f"expected {len(header)}")
                        rows.append(row)
                        if len(rows) == chunk_rows:
                            break
                if not rows:
                    break
                chunk = {h: [r[idx[h]].strip() for r in rows] for h in [y] + xnames + group_columns}
                yv = _finite(numeric(chunk, y, path, first_line), y, path, first_line)
                X = np.column_stack([_finite(numeric(chunk, c, path, first_line), c, path, first_line)
                                     for c in xnames]) if xnames else np.empty((len(rows), 0))
                labels = {}
                for g in group_columns:
                    labels[g] = np.array(chunk[g])
                    empty = np.flatnonzero(labels[g] == "")
                    if empty.size:
                        raise DataError(f"group column {g!r} of {path} is empty on line "
                                        f"{first_line + int(empty[0])}")
                labels = labels if len(labels) > 1 else next(iter(labels.values()), None)
                parts.append(sufficient_stats(NamedColumns(X, xnames), yv, labels, intercept=intercept))
                first_line += len(rows)
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a text (CSV) file") from None
    except csv.Error as err:
        raise DataError(f"{path} is not a valid CSV file: {err}") from None
    if not parts:
        raise DataError(f"data file {path!r} has a header but no data rows")
    return merge(parts) if len(parts) > 1 else parts[0]


def _finite(values: np.ndarray, name: str, path: str, first_line: int) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        v = values[bad[0]]
        kind = "NaN (or an empty field)" if np.isnan(v) else ("inf" if v > 0 else "-inf")
        raise DataError(f"column {name!r} of {path} holds {kind} on line {first_line + int(bad[0])}")
    return values


class NamedColumns:
    """A float block with column names (to_numpy, columns, shape): names travel into the statistics."""

    def __init__(self, values, columns):
        self.values, self.columns, self.shape, self.ndim = values, list(columns), values.shape, 2

    def to_numpy(self, dtype=None):
        return self.values if dtype is None else self.values.astype(dtype, copy=False)
