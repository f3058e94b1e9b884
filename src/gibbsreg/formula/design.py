"""Formula designs through formulaic: the fixed-part matrix, the response, the grouping factors,
and a JSON design spec that rebuilds the same columns on new rows (after save/load too).

Every formula is evaluated with the data frame's columns and ``np``/``numpy`` only, so that
a saved spec evaluates the same way in another session.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass

import numpy as np

from .parse import FactorSpec, ParsedFormula, factor_specs, parse_formula

SPEC_VERSION = 1
INSTALL_HINT = 'the formula interface needs formulaic and pandas: pip install "gibbsreg[formula]"'
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ROUND_TRIP_ROWS = 500  # rows on which a freshly built spec is checked to rebuild the same columns


def require_formulaic():
    """Import formulaic and pandas, or raise ImportError naming the extra to install."""
    try:
        import formulaic
        import pandas
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from None
    return formulaic, pandas


def _context():
    return {"np": np, "numpy": np}


# ---------------------------------------------------------------------------------------------
# errors


def _clean_message(err: Exception) -> str:
    text = _ANSI.sub("", str(err))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return type(err).__name__
    msg = lines[0]
    marked = re.search("\u29db(.*?)\u29da", text)
    if marked:
        msg += f" (near {marked.group(1)!r})"
    return msg


def _formulaic(fn, formula: str, where: str):
    """Run a formulaic call; its errors become ValueErrors naming the formula and the term."""
    from formulaic.errors import FormulaicError, FormulaSyntaxError

    try:
        return fn()
    except FormulaSyntaxError as err:
        raise ValueError(f"formula syntax error in {where} of {formula!r}: {_clean_message(err)}") from None
    except (FormulaicError, ValueError, TypeError, NameError, KeyError) as err:
        raise ValueError(f"formula {formula!r}, {where}: {_clean_message(err)}") from None


# ---------------------------------------------------------------------------------------------
# JSON for formulaic's state (no pickle)


def to_json(value):
    """formulaic's encoder/transform state as JSON-able values; arrays, tuples and non-str keys are tagged."""
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: to_json(v) for k, v in value.items()}
        return {"__items__": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ValueError(f"cannot save an array of dtype {value.dtype} in the formula's state")
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, tuple):
        return {"__tuple__": [to_json(v) for v in value]}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"cannot save a value of type {type(value).__name__} ({value!r}) in the formula's state")


def from_json(value):
    """Inverse of :func:`to_json`."""
    if isinstance(value, dict):
        if "__items__" in value:
            return {_hashable(from_json(k)): from_json(v) for k, v in value["__items__"]}
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        if "__tuple__" in value:
            return tuple(from_json(v) for v in value["__tuple__"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


def _encoder_state_to_json(state: dict) -> dict:
    out = {}
    for expr, (kind, st) in state.items():
        # the contrasts entry is for introspection only: formulaic rebuilds it from "categories"
        out[str(expr)] = {"kind": kind.value, "state": to_json({k: v for k, v in st.items() if k != "contrasts"})}
    return out


def _encoder_state_from_json(state: dict) -> dict:
    from formulaic.parser.types import Factor

    return {expr: (Factor.Kind(v["kind"]), from_json(v["state"])) for expr, v in state.items()}


def _model_spec(spec: dict):
    from formulaic import ModelSpec

    return ModelSpec(formula=spec["fixed"], encoder_state=_encoder_state_from_json(spec["encoder_state"]),
                     transform_state=from_json(spec["transform_state"]), na_action="raise")


# ---------------------------------------------------------------------------------------------
# data checks


def as_frame(data, what: str = "data"):
    """A pandas DataFrame from a DataFrame, a dict of columns or a gibbsreg Dataset."""
    _, pd = require_formulaic()
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise ValueError(f"{what} must be a pandas DataFrame (or a dict of columns), got {type(data).__name__}")


def _required(text: str, formula: str, where: str) -> list[str]:
    from formulaic import Formula

    variables = _formulaic(lambda: Formula(text).required_variables, formula, where)
    return sorted(str(v) for v in variables)


def check_columns(df, needed: dict, formula: str, what: str = "data") -> None:
    """Every column in ``needed`` (column -> where it is used) exists and has no missing values."""
    columns = list(df.columns)
    for name, where in needed.items():
        if name not in df.columns:
            raise ValueError(f"column {name!r} (used in {where} of {formula!r}) is not in {what}; "
                             f"its columns are {columns}")
    for name, where in needed.items():
        missing = df[name].isna().to_numpy()
        if missing.any():
            row = int(np.argmax(missing))
            raise ValueError(f"column {name!r} (used in {where} of {formula!r}) has a missing value (NaN/None) "
                             f"at row {row} of {what} ({int(missing.sum())} in all); drop or fill those rows "
                             f"first, e.g. data.dropna(subset={sorted(needed)!r})")


def _factor_labels(df, variables: tuple[str, ...]):
    """Group labels of a factor: the column itself, or 'a:b' strings for an interaction of columns."""
    if len(variables) == 1:
        return df[variables[0]]
    parts = [df[v].astype(str).to_numpy() for v in variables]
    labels = parts[0].astype(object)
    for p in parts[1:]:
        labels = labels + ":" + p.astype(object)
    return labels


# ---------------------------------------------------------------------------------------------
# the design


@dataclass
class FormulaDesign:
    """A formula evaluated on a data frame.

    ``X`` (DataFrame, n x p_x): the fixed-part columns without the intercept, named as
    formulaic names them; ``y`` (n,); ``intercept``; ``names``: the p coefficient names
    ("intercept" first when present); ``factors``: the grouping factors with their varying
    columns; ``groups``: labels per factor name; ``spec``: the JSON design spec.  A design of
    partitioned data (files, Dask) holds no rows: X, y and groups are None and ``stats`` holds
    their sufficient statistics (gibbsreg.io), built partition by partition.
    """

    parsed: ParsedFormula
    X: object
    y: np.ndarray
    intercept: bool
    names: list[str]
    factors: list[FactorSpec]
    groups: dict
    spec: dict
    stats: object = None

    def spread(self, column: str | None = None) -> float:
        """The population sd (ddof=0) of y (``column`` None) or of a fixed-part column."""
        if self.stats is None:
            values = self.y if column is None else self.X[column].to_numpy(dtype=float)
            return float(np.std(values))
        pooled = getattr(self.stats, "pooled", self.stats)
        if column is None:
            return float(np.sqrt(pooled.y_var))
        return float(np.sqrt(pooled.x_var[list(pooled.x_names).index(column)]))

    def mean(self, column: str | None = None) -> float:
        """The mean of y (``column`` None) or of a fixed-part column."""
        if self.stats is None:
            values = self.y if column is None else self.X[column].to_numpy(dtype=float)
            return float(np.mean(values))
        pooled = getattr(self.stats, "pooled", self.stats)
        return float(pooled.y_mean if column is None else pooled.x_mean[list(pooled.x_names).index(column)])


def _rename(col: str) -> str:
    return "intercept" if col == "Intercept" else col


def needed_columns(parsed: ParsedFormula, formula: str) -> dict:
    """Every data column the formula reads -> where it is used (for messages)."""
    needed = {}
    for v in _required(parsed.response, formula, "the response"):
        needed.setdefault(v, "the response")
    for v in _required(parsed.fixed, formula, f"the fixed part {parsed.fixed!r}"):
        needed.setdefault(v, f"the fixed part {parsed.fixed!r}")
    for term in parsed.group_terms:
        for v in _required(term.expr, formula, f"the group term {term.text}"):
            needed.setdefault(v, f"the group term {term.text}")
        for v in term.variables:
            needed.setdefault(v, f"the grouping factor of {term.text}")
    return needed


def build_design(formula: str, data) -> FormulaDesign:
    """Parse ``formula`` and evaluate it on ``data``; every problem is a ValueError before any sampling."""
    from formulaic import model_matrix

    df = as_frame(data)
    parsed = parse_formula(formula)
    needed = needed_columns(parsed, formula)
    fixed_vars = _required(parsed.fixed, formula, f"the fixed part {parsed.fixed!r}")
    check_columns(df, needed, formula)
    if len(df) < 1:
        raise ValueError("data has no rows")

    ctx = _context()
    lhs = _formulaic(lambda: model_matrix(f"{parsed.response} ~ 1", df, context=ctx, na_action="raise").lhs,
                     formula, f"the response {parsed.response!r}")
    if lhs.shape[1] != 1:
        raise ValueError(f"the response {parsed.response!r} of {formula!r} must be one numeric column; "
                         f"it gives {lhs.shape[1]} columns {list(lhs.columns)} (is it categorical?)")
    y = np.asarray(lhs.iloc[:, 0].to_numpy(dtype=float), dtype=np.float64)

    mm = _formulaic(lambda: model_matrix(parsed.fixed, df, context=ctx, na_action="raise"),
                    formula, f"the fixed part {parsed.fixed!r}")
    mspec = mm.model_spec
    cols = [str(c) for c in mm.columns]
    intercept = "Intercept" in cols
    if "intercept" in cols:
        raise ValueError(f"formula {formula!r}: a column is named 'intercept'; rename it (the intercept term "
                         "is named 'intercept')")
    full = np.asarray(mm.to_numpy(dtype=float), dtype=np.float64)
    for k, c in enumerate(cols):
        if c != "Intercept" and not np.any(full[:, k]):
            raise ValueError(f"formula {formula!r}: the column {c!r} is all zeros (a category with no rows, e.g. "
                             "an unused pandas category: data[col].cat.remove_unused_categories())")
    x_cols = [c for c in cols if c != "Intercept"]
    _, pd = require_formulaic()
    X = pd.DataFrame(full[:, [cols.index(c) for c in x_cols]], columns=x_cols, index=df.index)
    names = (["intercept"] if intercept else []) + x_cols

    term_columns = []
    for term in parsed.group_terms:
        tm = _formulaic(lambda t=term: model_matrix(t.expr, df, context=ctx, na_action="raise"), formula,
                        f"the group term {term.text}")
        tcols = [str(c) for c in tm.columns]
        if not tcols:
            raise ValueError(f"group term {term.text} of {formula!r} has no columns")
        tvals = np.asarray(tm.to_numpy(dtype=float), dtype=np.float64)
        for k, c in enumerate(tcols):
            if c not in cols:
                raise ValueError(
                    f"group term {term.text} of {formula!r}: the column {_rename(c)!r} varies by group but is not "
                    f"in the fixed part ({names}). In gibbsreg every varying coefficient has a population mean mu "
                    f"(beta_j ~ N(mu, Sigma)), so add it to the fixed part"
                    + (" (remove '0 +' / '- 1')" if c == "Intercept" else f" (e.g. '+ {c}')"))
            if not np.array_equal(tvals[:, k], full[:, cols.index(c)]):
                raise ValueError(f"group term {term.text} of {formula!r}: its column {c!r} is coded differently "
                                 "from the fixed part's column of the same name; write the term as in the fixed part")
        term_columns.append([_rename(c) for c in tcols])
    factors = factor_specs(parsed.group_terms, term_columns)
    groups = {f.name: _factor_labels(df, f.variables) for f in factors}

    spec = {
        "version": SPEC_VERSION,
        "formula": formula,
        "response": parsed.response,
        "fixed": parsed.fixed,  # as written: formulaic prints "0 + c" as "c", which would re-add the intercept
        "fixed_columns": cols,
        "names": names,
        "intercept": intercept,
        "required": sorted(set(fixed_vars) | {v for f in factors for v in f.variables}),
        "encoder_state": _encoder_state_to_json(mspec.encoder_state),
        "transform_state": to_json(mspec.transform_state),
        "factors": [{"name": f.name, "variables": list(f.variables), "varying": list(f.columns),
                     "covariance": f.covariance, "terms": [t.text for t in f.terms]} for f in factors],
    }
    _check_round_trip(spec, df, full, formula)
    return FormulaDesign(parsed, X, y, intercept, names, factors, groups, spec)


def _check_round_trip(spec: dict, df, full: np.ndarray, formula: str) -> None:
    """The saved spec must rebuild the fitted columns exactly (else predict(newdata) could silently differ)."""
    restored = json.loads(json.dumps(spec))
    rows = df.iloc[:ROUND_TRIP_ROWS]
    try:
        mm = _model_spec(restored).get_model_matrix(rows, context=_context())
        again = np.asarray(mm.to_numpy(dtype=float), dtype=np.float64)
        ok = [str(c) for c in mm.columns] == spec["fixed_columns"] and np.array_equal(again, full[: len(rows)])
    except Exception as err:  # noqa: BLE001 - any failure means the spec cannot be replayed
        raise ValueError(f"formula {formula!r}: its encoding cannot be saved and replayed on new data "
                         f"({_clean_message(err)}); avoid that transform") from None
    if not ok:
        raise ValueError(f"formula {formula!r}: its saved encoding does not rebuild the same columns on new data; "
                         "a stateful transform in it cannot be replayed")


def _quoted(expr: str, df) -> str:
    return expr if _IDENT.match(expr) or expr not in df.columns else f"`{expr}`"


def _unseen_level_error(spec: dict, df) -> ValueError:
    """Find which categorical factor has levels not seen in fitting, and say so."""
    from formulaic import ModelSpec
    from formulaic.errors import DataMismatchWarning

    encoder = _encoder_state_from_json(spec["encoder_state"])
    transforms = from_json(spec["transform_state"])
    for expr, (kind, state) in encoder.items():
        if kind.value != "categorical" or "categories" not in state:
            continue
        one = ModelSpec(formula=f"0 + {_quoted(expr, df)}", encoder_state={expr: (kind, state)},
                        transform_state=transforms, na_action="raise")
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataMismatchWarning)
            try:
                one.get_model_matrix(df, context=_context())
            except DataMismatchWarning:
                levels = _new_levels(expr, df, transforms, state["categories"])
                return ValueError(
                    f"categorical predictor {expr!r} has level(s) {levels} in the new data that were not seen "
                    f"when the model was fitted (levels: {state['categories']}); a categorical predictor has no "
                    "coefficient for a new level (only the grouping factor may take new levels)")
            except Exception:  # noqa: BLE001 - diagnosing only
                continue
    return ValueError(f"the new data have categorical levels not seen when {spec['formula']!r} was fitted")


def _new_levels(expr: str, df, transforms: dict, known: list) -> list:
    """The levels of a categorical factor present in df but not in ``known`` (full-rank coding of df alone)."""
    from formulaic import ModelSpec

    mm = ModelSpec(formula=f"0 + {_quoted(expr, df)}", transform_state=transforms,
                   na_action="ignore").get_model_matrix(df, context=_context())
    (cats,) = [st["categories"] for kind, st in mm.model_spec.encoder_state.values() if "categories" in st]
    present = [c for c, col in zip(cats, mm.columns) if np.any(mm[col].to_numpy())]
    return [to_json(c) for c in present if c not in known]


def newdata_rows(spec: dict, data):
    """(X_new (m, p_x) float array without the intercept column, groups) for new rows, encoded as at fitting time.

    ``groups`` is None (flat), one label array (one grouping factor) or a dict of them.
    """
    from formulaic.errors import DataMismatchWarning

    require_formulaic()
    if spec.get("version") != SPEC_VERSION:
        raise ValueError(f"formula spec version {spec.get('version')} is not supported (expected {SPEC_VERSION})")
    df = as_frame(data, "newdata")
    formula = spec["formula"]
    where = {v: "the formula" for v in spec["required"]}
    check_columns(df, where, formula, "newdata")
    if len(df) < 1:
        raise ValueError("newdata has no rows")
    ms = _model_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataMismatchWarning)
        try:
            mm = _formulaic(lambda: ms.get_model_matrix(df, context=_context()), formula,
                            f"the fixed part {spec['fixed']!r} on newdata")
        except DataMismatchWarning:
            raise _unseen_level_error(spec, df) from None
    cols = [str(c) for c in mm.columns]
    if cols != spec["fixed_columns"]:
        raise ValueError(f"newdata gives the columns {cols}, the model was fitted with {spec['fixed_columns']}")
    full = np.asarray(mm.to_numpy(dtype=float), dtype=np.float64)
    keep = [k for k, c in enumerate(cols) if c != "Intercept"]
    X = np.ascontiguousarray(full[:, keep])  # C order, like a hand-built matrix (same rounding in predict)
    factors = spec["factors"]
    if not factors:
        return X, None
    groups = {f["name"]: _factor_labels(df, tuple(f["variables"])) for f in factors}
    if len(groups) == 1:
        return X, next(iter(groups.values()))
    return X, groups
