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


def numeric(cols, name, path) -> np.ndarray:
    require_columns(cols, [name], path)
    values = cols[name]
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v) if v != "" else np.nan
        except ValueError:
            raise DataError(f"column {name!r} of {path} is not numeric: {v!r} on line {i + 2}") from None
    return out
