"""Statistics straight from Parquet / CSV files in bounded memory: in one process by pyarrow straight to NumPy,
on a distributed Client through Dask (its workers read the files)."""

from __future__ import annotations

import glob
import os

from .dask import DASK_EXTRA, is_dask
from .dask import _needed_columns, frame_part, frame_stats, tree_reduce

PARQUET = (".parquet", ".pq", ".parq")
CSV = (".csv", ".txt", ".csv.gz", ".tsv")


def _expand(source) -> list[str]:
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files = []
    for item in items:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = sorted(f for f in glob.glob(os.path.join(item, "*"))
                           if f.lower().endswith(PARQUET + CSV) and os.path.isfile(f))
            if not found:
                raise ValueError(f"the folder {item} holds no .parquet or .csv files")
            files += found
        elif any(ch in item for ch in "*?["):
            found = sorted(glob.glob(item))
            if not found:
                raise ValueError(f"no files match {item!r}")
            files += found
        else:
            if not os.path.exists(item):
                raise ValueError(f"no such file: {item}")
            files.append(item)
    return files


def _files(source, dask: bool = True) -> tuple[list[str], str]:
    """The files of a source and their one format ("parquet" or "csv"), once pyarrow (and Dask when ``dask``) is
    known to be installed; a ValueError names what is missing or mixed."""
    files = _expand(source)
    kinds = {_kind(f) for f in files}
    if len(kinds) > 1:
        raise ValueError(f"mixed file formats {sorted(kinds)}; read Parquet and CSV files separately")
    kind = kinds.pop()
    if dask:
        _require_dask(kind)
    try:
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ValueError(f"reading {kind} files needs pyarrow; install it with {DASK_EXTRA}") from None
    return files, kind


def _require_dask(kind: str) -> None:
    try:
        import dask.dataframe  # noqa: F401
    except ImportError:
        raise ValueError(f"reading {kind} files needs Dask; install it with {DASK_EXTRA}") from None


def _schema(path: str):
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except Exception as err:  # noqa: BLE001 - report which file is unreadable
        raise ValueError(f"cannot read the Parquet schema of {path}: {err}") from None


def _kind(path: str) -> str:
    low = path.lower()
    if low.endswith(PARQUET):
        return "parquet"
    if low.endswith(CSV):
        return "csv"
    raise ValueError(f"cannot tell the format of {path}: use .parquet or .csv files")


def read_stats(source, y: str, x=None, groups=None, *, intercept: bool = True, blocksize="64MiB", weights=None):
    """Sufficient statistics of y ~ x (per group when ``groups`` names a column; per cell of several factors
    when it lists several columns, e.g. ``groups=["state", "county"]``) read from files.

    ``source``: a Parquet or CSV file, a glob ("data/*.parquet"), a folder, a list of paths, or a
    pandas / Dask DataFrame.  ``x``: column names (default: every column except y and groups).
    Without a distributed Client the files are decoded by pyarrow straight to NumPy (Parquet row group by
    row group, CSV in blocks of CSV_BLOCK_BYTES) on threads; with one they are read by its workers through
    dask.dataframe (read_parquet / read_csv, pyarrow engine) in partitions of about ``blocksize``.  Each
    partition becomes statistics that are merged in order or in a tree, so memory stays bounded by a few
    partitions per worker.  Errors name the file and row group, block or partition.
    ``weights``: the name of a column of known observation weights (precisions, docs/weights.md).
    """
    if hasattr(source, "columns") and (is_dask(source) or hasattr(source, "iloc")):
        return frame_stats(source, y, x, groups, intercept=intercept, weights=weights)
    files, kind = _files(source, dask=False)  # Dask is imported only when a Client will read the files
    if kind == "parquet":
        schemas = {f: _schema(f) for f in files}
        first = files[0]
        cols = list(schemas[first].names)
        needed, xcols, gcols = _needed_columns(cols, y, x, groups, first, weights)
        for f in files[1:]:
            names = list(schemas[f].names)
            missing = [c for c in needed if c not in names]
            if missing:
                raise ValueError(f"the files' schemas disagree: {f} lacks column(s) {missing} that {first} has; "
                                 f"its columns are {names}")
            for c in needed:
                t0, t1 = schemas[first].field(c).type, schemas[f].field(c).type
                if str(t0) != str(t1) and not (_numeric(t0) and _numeric(t1) and c not in gcols):
                    raise ValueError(f"the files' schemas disagree on column {c!r}: {t0} in {first}, {t1} in {f}")
    else:
        first = files[0]
        header = None
        for f in files:
            cols = _csv_header(f)
            if header is None:
                header = cols
                needed, xcols, gcols = _needed_columns(cols, y, x, groups, first, weights)
            else:
                missing = [c for c in needed if c not in cols]
                if missing:
                    raise ValueError(f"the files' schemas disagree: {f} lacks column(s) {missing} that {first} has; "
                                     f"its columns are {cols}")
    if intercept and "intercept" in xcols:
        raise ValueError("the data already have a column named 'intercept'; pass intercept=False or rename it")
    if not _cluster_active():  # one process: pyarrow straight to NumPy, no Dask or pandas
        local = _parquet_local if kind == "parquet" else _csv_local
        return local(files, needed, y, xcols, groups, intercept, weights)
    _require_dask(kind)
    import dask
    import dask.dataframe as dd

    task = dask.delayed(frame_part, pure=True)
    tasks = []
    for f in files:
        if kind == "parquet":
            ddf = dd.read_parquet(f, columns=needed, blocksize=blocksize)
        else:
            dtypes = {c: ("object" if c in gcols else "float64") for c in needed}
            try:  # pyarrow's CSV parser (about twice as fast), falling back to pandas' own
                ddf = dd.read_csv(f, usecols=needed, dtype=dtypes, blocksize=blocksize, engine="pyarrow")
            except (TypeError, ValueError, ImportError):
                try:
                    ddf = dd.read_csv(f, usecols=needed, dtype=dtypes, blocksize=blocksize)
                except ValueError:  # a value in the sampled head is not a number: say which
                    raise _non_numeric_value([f], [y] + xcols, blocksize) from None
        for i, part in enumerate(ddf.to_delayed()):
            tasks.append(task(part, y, xcols, groups, intercept, f"file {f}, partition {i}", weights))
    if kind != "csv":
        return tree_reduce(tasks)
    try:
        return tree_reduce(tasks)
    except ValueError as err:
        if "gibbsreg" in type(err).__module__ or _is_our_message(err):
            raise
        # the CSV parser's own message does not say which value failed: find it (error path only)
        raise _non_numeric_value(files, [y] + xcols, blocksize) from None


def _csv_header(path: str) -> list[str]:
    """The column names of a CSV file (its first line, read by pyarrow)."""
    import pyarrow as pa
    import pyarrow.csv as pc

    try:
        return [str(c) for c in pc.open_csv(path).schema.names]
    except (pa.ArrowInvalid, OSError) as err:
        raise ValueError(f"cannot read the header of the CSV file {path}: {err}") from None


def _cluster_active() -> bool:
    """Whether a distributed Client is active (then the files are read by its workers, through Dask); without
    ``distributed`` imported there is none, and it is not imported to find out."""
    import sys

    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import get_client
    except ImportError:
        return False
    try:
        get_client()
    except ValueError:
        return False
    return True


def _parquet_local(files, needed, y, xcols, groups, intercept, weights=None):
    """Statistics of Parquet files read without Dask or pandas: each row group's columns decoded by pyarrow
    straight to NumPy (threads over row groups; pyarrow and the statistics pass release the GIL), reduced by
    the same per-partition pass as Dask's (io.dask.part_stats) and merged in file and row-group order, so at
    most one row group per thread is held in memory."""
    import pyarrow.parquet as pq

    tasks = [(f, rg) for f in files for rg in range(pq.ParquetFile(f).num_row_groups)]

    def batches(task):
        f, rg = task
        # a reader per task: one ParquetFile read from several threads at once can deadlock in pyarrow's
        # pre-buffering (seen in a benchmark run); opening costs about 1 ms
        yield pq.ParquetFile(f).read_row_group(rg, columns=needed), f"file {f}, row group {rg}"

    return _local_pass(tasks, batches, y, xcols, groups, intercept, weights, "row group")


CSV_BLOCK_BYTES = 16 << 20  # bytes of CSV text per record batch: ~0.5 M rows of 20 numbers


def _csv_local(files, needed, y, xcols, groups, intercept, weights=None):
    """Statistics of CSV files read without Dask or pandas: pyarrow's CSV reader streams each file as record
    batches of about CSV_BLOCK_BYTES (numbers parsed straight to float64 by its threads; group columns as text,
    an empty label a null), each reduced by the same per-partition pass and merged in file and batch order."""
    import pyarrow as pa
    import pyarrow.csv as pc

    from .dask import group_columns

    gcols = group_columns(groups)
    types = {c: (pa.string() if c in gcols else pa.float64()) for c in needed}
    convert = pc.ConvertOptions(include_columns=needed, column_types=types, strings_can_be_null=True)

    def batches(f):
        try:
            reader = pc.open_csv(f, read_options=pc.ReadOptions(block_size=CSV_BLOCK_BYTES), convert_options=convert)
            for k, batch in enumerate(reader):
                yield batch, f"file {f}, block {k}"
        except pa.ArrowInvalid as err:
            raise _csv_error(f, err) from None

    return _local_pass(files, batches, y, xcols, groups, intercept, weights, "block")


def _csv_error(path, err) -> ValueError:
    """pyarrow's conversion error ("In CSV column #k: ... invalid value 'v'") with the column's name."""
    import re

    import pyarrow.csv as pc

    text = str(err)
    found = re.search(r"CSV column #(\d+)", text)
    if found:
        names = pc.open_csv(path).schema.names
        k = int(found.group(1))
        value = re.search(r"invalid value (.*)$", text)
        if k < len(names):
            shown = value.group(1) if value else text
            return ValueError(f"column {names[k]!r} of {path} is not numeric: {shown}")
    return ValueError(f"cannot read {path} as CSV numbers: {text}")


def _local_pass(tasks, batches, y, xcols, groups, intercept, weights, unit):
    """The one-process reader: threads over ``tasks`` (a file, or a file's row group), each turning its record
    batches (``batches(task)`` yields (batch, where)) into statistics with a reused per-thread buffer, merged in
    task and batch order.  Memory: one batch per thread."""
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from .dask import group_columns, part_stats
    from .stats import merge

    gcols = group_columns(groups)
    local = threading.local()  # each thread's X buffer, reused: fresh pages cost more than the copy into them

    def column(table, name, numeric):
        values = table.column(name).to_numpy(zero_copy_only=False)
        if not numeric:
            return values
        if values.dtype == object:  # integers with nulls come back as objects: None becomes NaN
            values = np.array([np.nan if v is None else v for v in values], dtype=float)
        return np.asarray(values, dtype=np.float64)

    def buffer(rows):
        size = rows * len(xcols)
        buf = getattr(local, "X", None)
        if buf is None or buf.size < size:
            buf = local.X = np.empty(size)
        return buf[:size].reshape((rows, len(xcols)), order="F")  # column-major and contiguous at any rows

    def one(task):
        total = None
        for table, where in batches(task):
            if table.num_rows == 0:
                continue
            X = buffer(table.num_rows)
            for k, c in enumerate(xcols):
                X[:, k] = column(table, c, True)
            labels = {c: column(table, c, False) for c in gcols}
            g = None if not gcols else (labels[gcols[0]] if isinstance(groups, str) else labels)
            w = None if weights is None else column(table, weights, True)
            part = part_stats(X, column(table, y, True), g, xcols, intercept, where, w)
            total = part if total is None else merge([total, part])
        return total

    try:
        threads = max(1, min(len(os.sched_getaffinity(0)), len(tasks)))
    except AttributeError:  # pragma: no cover - not Linux
        threads = max(1, min(os.cpu_count() or 1, len(tasks)))
    total = None
    with ThreadPoolExecutor(threads) as pool:
        for part in pool.map(one, tasks):
            if part is not None:
                total = part if total is None else merge([total, part])
    if total is None:
        raise ValueError(f"the data have no rows (every {unit} is empty)")
    return total


def _is_our_message(err) -> bool:
    text = str(err)
    return any(key in text for key in ("contains NaN", "contains inf", "no rows", "not found in", "group"))


def _non_numeric_value(files, columns, blocksize) -> ValueError:
    """A ValueError naming the first value of ``columns`` that is not a number: file, column and value."""
    import dask.dataframe as dd
    import pandas as pd

    for f in files:
        ddf = dd.read_csv(f, usecols=columns, dtype={c: "object" for c in columns}, blocksize=blocksize)
        for i, part in enumerate(ddf.to_delayed()):
            frame = part.compute()
            for c in columns:
                values = frame[c]
                bad = pd.to_numeric(values, errors="coerce").isna() & values.notna()
                if bad.any():
                    return ValueError(f"column {c!r} of {f} is not numeric: {values[bad].iloc[0]!r} "
                                      f"(partition {i})")
    return ValueError(f"the CSV file(s) {files} could not be read as numbers in the columns {columns}")


def _numeric(t) -> bool:
    import pyarrow.types as pt

    return pt.is_integer(t) or pt.is_floating(t) or pt.is_boolean(t)


def read_frame(source, columns, *, blocksize="64MiB"):
    """A lazy Dask DataFrame of ``columns`` (None: every column) over Parquet or CSV files (a file, a glob, a folder or a list), for
    front ends that transform the rows before :func:`frame_stats` (the formula front end on partitioned data).

    Every file must hold every column (an error names the file and its columns).  CSV columns are read as
    float64 when the first file's first rows are numbers and as text otherwise, so that no partition reads
    a column with another type.
    """
    files, kind = _files(source)
    import dask.dataframe as dd

    if kind == "parquet":
        for f in files:
            names = list(_schema(f).names)
            columns = names if columns is None else list(columns)
            _require(columns, names, f)
        return dd.read_parquet(files, columns=columns, blocksize=blocksize)
    import pandas as pd

    head = pd.read_csv(files[0], nrows=1000)
    columns = [str(c) for c in head.columns] if columns is None else list(columns)
    _require(columns, [str(c) for c in head.columns], files[0])
    for f in files[1:]:
        _require(columns, [str(c) for c in pd.read_csv(f, nrows=0).columns], f)
    dtypes = {c: ("float64" if pd.api.types.is_numeric_dtype(head[c]) and not pd.api.types.is_bool_dtype(head[c])
                  else "object") for c in columns}
    return dd.read_csv(files, usecols=columns, dtype=dtypes, blocksize=blocksize)


def _require(columns, names, path) -> None:
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"column(s) {missing} not found in {path}; its columns are {names}")
