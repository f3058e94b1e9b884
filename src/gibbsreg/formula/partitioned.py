"""Formulas on data beyond memory: Parquet or CSV files, folders, globs and Dask DataFrames.

The encoding is learned once: the levels of every categorical variable are read from all the rows (one
pass over those columns only), and the formula is evaluated by :func:`build_design` on a small prototype
frame (the first rows plus one row per level), which gives the JSON design spec exactly as for a pandas
frame.  Then every partition is encoded with that spec and reduced to sufficient statistics by
:func:`gibbsreg.io.frame_stats` (the one statistics builder), merged in a tree: memory holds a few
partitions, never the data.  Stateful transforms (``center(x)``, ``scale(x)``, splines) learn from the
rows they see, so on partitioned data they are refused with a message rather than learned from a part.
"""

from __future__ import annotations

import os
import re

import numpy as np

from .design import (ROUND_TRIP_ROWS, FormulaDesign, _context, _factor_labels, _formulaic, _model_spec, _rename,
                     build_design, needed_columns, require_formulaic)
from .parse import parse_formula

RESPONSE = "__response__"  # the response's column in the encoded partitions (no formula column is named so)


def is_partitioned(data) -> bool:
    """Data the formula front end reads partition by partition: a Dask DataFrame, a path, a glob or a list of paths."""
    from ..io.dask import is_dask

    if is_dask(data):
        return True
    if isinstance(data, (str, os.PathLike)):
        return True
    return isinstance(data, (list, tuple)) and bool(data) and all(isinstance(d, (str, os.PathLike)) for d in data)


def _prototype(ddf, formula: str, parsed, needed: dict):
    """The first rows, plus one row for every level of every categorical variable the fixed part encodes."""
    from formulaic import Formula, model_matrix

    _, pd = require_formulaic()
    head = _head(ddf)
    if len(head) == 0:
        raise ValueError("data has no rows")
    mm = _formulaic(lambda: model_matrix(parsed.fixed, head, context=_context(), na_action="ignore"),
                    formula, f"the fixed part {parsed.fixed!r}")
    stateful = sorted(str(k) for k, v in (mm.model_spec.transform_state or {}).items() if v)
    if stateful:
        raise ValueError(f"formula {formula!r}: the stateful transform(s) {stateful} learn from the rows they see, "
                         "so they cannot be learned partition by partition; compute the column first, or load "
                         "the data into memory (a pandas DataFrame)")
    variables = set()
    for expr, (kind, _state) in mm.model_spec.encoder_state.items():
        if getattr(kind, "value", kind) == "categorical":
            variables |= {str(v) for v in Formula(str(expr)).required_variables if str(v) in needed}
    if not variables:
        return head
    names = sorted(variables)
    import dask

    levels = dask.compute(*[ddf[v].dropna().unique() for v in names])
    extra = []
    for name, values in zip(names, levels):
        rows = head.iloc[np.zeros(len(values), dtype=int)].copy()
        rows[name] = np.asarray(values)
        extra.append(rows)
    return pd.concat([head, *extra], ignore_index=True)


def _encode_part(part, spec: dict, factors: list, where: str):
    """One partition encoded by the learned spec: the response, the fixed columns (no intercept), the factors."""
    from formulaic import model_matrix

    _, pd = require_formulaic()
    formula = spec["formula"]
    if len(part) == 0:
        columns = [RESPONSE] + [c for c in spec["fixed_columns"] if c != "Intercept"] + [f["name"] for f in factors]
        return pd.DataFrame({c: pd.Series([], dtype=object if c in {f["name"] for f in factors} else float)
                             for c in columns})
    part = part.reset_index(drop=True)
    for name in spec["required"] + [v for v in _response_variables(spec)]:
        if name in part.columns and part[name].isna().any():
            row = int(np.argmax(part[name].isna().to_numpy()))
            raise ValueError(f"column {name!r} has a missing value (NaN/None) in {where}, row {row}; drop or fill "
                             "those rows first")
    lhs = _formulaic(lambda: model_matrix(f"{spec['response']} ~ 1", part, context=_context(), na_action="raise").lhs,
                     formula, f"the response {spec['response']!r} in {where}")
    mm = _formulaic(lambda: _model_spec(spec).get_model_matrix(part, context=_context()), formula,
                    f"the fixed part {spec['fixed']!r} in {where}")
    cols = [str(c) for c in mm.columns]
    out = {RESPONSE: lhs.iloc[:, 0].to_numpy(dtype=float)}
    values = mm.to_numpy(dtype=float)
    for k, c in enumerate(cols):
        if c != "Intercept":
            out[c] = values[:, k]
    for f in factors:
        out[f["name"]] = np.asarray(_factor_labels(part, tuple(f["variables"])))  # the values' own type, as in memory
    return pd.DataFrame(out)


def _response_variables(spec: dict) -> list[str]:
    from formulaic import Formula

    return [str(v) for v in Formula(spec["response"]).required_variables]


def build_partitioned_design(formula: str, data, *, blocksize="64MiB") -> FormulaDesign:
    """The design of ``formula`` over partitioned data, as sufficient statistics (``design.stats``) with the same
    JSON spec a pandas frame of the same rows would give; every problem is a ValueError before any sampling."""
    from ..io.dask import frame_stats, is_dask
    from ..io.files import read_frame

    require_formulaic()
    parsed = parse_formula(formula)
    needed = needed_columns(parsed, formula)
    ddf = data if is_dask(data) else read_frame(data, None, blocksize=blocksize)
    columns = [str(c) for c in ddf.columns]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"column {missing[0]!r} (used in {needed[missing[0]]} of {formula!r}) is not in data; "
                         f"its columns are {columns}")
    # formulaic does not list the arguments of stateful transforms among the required variables
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula))
    ddf = ddf[[c for c in columns if c in needed or c in named]]
    proto = build_design(formula, _prototype(ddf, formula, parsed, needed))
    spec = proto.spec
    x_cols = [c for c in spec["fixed_columns"] if c != "Intercept"]
    clash = sorted(set(x_cols) & {f.name for f in proto.factors})
    if clash:
        raise ValueError(f"formula {formula!r}: the grouping factor(s) {clash} are named like fixed columns")
    factors = spec["factors"]
    meta = _encode_part(_head(ddf), spec, factors, "the first rows")
    encoded = ddf.map_partitions(_encode_part, spec, factors, "a partition", meta=meta.iloc[:0])
    names = [f["name"] for f in factors]
    groups = None if not names else (names[0] if len(names) == 1 else names)
    stats = frame_stats(encoded, RESPONSE, x_cols, groups, intercept=proto.intercept)
    pooled = getattr(stats, "pooled", stats)
    for k, c in enumerate(x_cols):
        if pooled.x_var[k] == 0 and pooled.x_mean[k] == 0:
            raise ValueError(f"formula {formula!r}: the column {_rename(c)!r} is all zeros (a category with no rows)")
    return FormulaDesign(parsed, None, None, proto.intercept, proto.names, proto.factors, None, spec, stats)


def _head(ddf):
    return ddf.head(ROUND_TRIP_ROWS, npartitions=-1).reset_index(drop=True)
