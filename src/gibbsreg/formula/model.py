"""``gibbsreg.model(formula, data)``: a model bound to the design its formula builds.

The formula front end is a thin layer: it builds X (without the intercept column), y and
the group labels, asks the registry for the kind of the formula's family and number of grouping
factors (:func:`gibbsreg.registry.select`: flat, hierarchical for one factor, crossed for several),
lets that kind's front end build the model (``ModelKind.front.formula``), and attaches the JSON
design spec to the Posterior (``post.attrs["formula"]``), which ``post.predict(newdata=...)``
replays on new rows.  Same seed, same draws as the matrix API.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from .. import registry
from ..models.crossed.front import factor_arguments
from ..group_terms import default_group_covariance
from .design import FormulaDesign, as_frame, build_design, require_formulaic
from .partitioned import build_partitioned_design, is_partitioned

__all__ = ["FormulaModel", "default_group_covariance", "factor_arguments", "model"]


class FormulaModel:
    """A model bound to its formula design; ``.sample(...)`` returns a Posterior.

    ``model`` is the underlying :class:`LinearRegression` / :class:`HierarchicalRegression`
    (or ``CrossedRegression``); ``X``, ``y``, ``groups`` are the design it samples (X
    without the intercept column, named as formulaic names it), usable with ``gr.ppc``,
    ``gr.shrinkage`` and the plots.  ``design.spec`` is the JSON spec saved with the draws.
    """

    def __init__(self, design: FormulaDesign, kind: registry.ModelKind, bound: registry.Bound, weights=None):
        self.design = design
        self._kind = kind
        self.bound = bound
        self.model = bound.model
        self.weights = weights  # the rows' known precisions (gr.model(..., weights="w")), given to every sample

    @property
    def formula(self) -> str:
        return self.design.spec["formula"]

    @property
    def X(self):
        return self.design.X

    @property
    def y(self) -> np.ndarray:
        return self.design.y

    @property
    def groups(self):
        """None (no group term), the labels (one grouping factor) or a dict name -> labels."""
        g = self.design.groups
        if not g:
            return None
        return next(iter(g.values())) if len(g) == 1 else dict(g)

    @property
    def kind(self) -> str:
        """The registered model kind the formula maps to ("flat", "hierarchical", "crossed", ...)."""
        return self._kind.name

    def __repr__(self) -> str:
        return (f"<FormulaModel {self.formula!r}: {type(self.model).__name__}, n = {len(self.y)}, "
                f"coefficients {self.design.names}>")

    def sample(self, **kwargs):
        """Sample the bound design; keyword arguments as the model's ``sample`` (chains, draws, warmup,
        thin, seed, backend, progress, ...).  The Posterior carries the formula spec in
        ``attrs["formula"]``."""
        for bad in ("X", "y", "groups"):
            if bad in kwargs:
                raise ValueError(f"{bad} comes from the formula; sample() takes only sampling options")
        if self.weights is not None:
            if "weights" in kwargs:
                raise ValueError("weights come from gr.model(..., weights=): sample() takes only sampling options")
            kwargs["weights"] = self.weights
        if self.design.stats is None:
            post = self._kind.front.call(self.model, self.X, self.y, self.groups, **kwargs)
        elif self._kind.needs in ("flat", "grouped", "cells"):
            post = self._kind.front.call(self.model, None, None, None, stats=self.design.stats, **kwargs)
        else:
            raise ValueError(f"the {self._kind.name} model reads every row each sweep, so it cannot be fitted from "
                             "partitioned data's statistics; load the rows into memory (a pandas DataFrame)")
        post.attrs["formula"] = copy.deepcopy(self.design.spec)
        for key, value in self.bound.attrs.items():
            if key == "arviz_dims":  # a dim the posterior already has keeps its own name
                value = {dim: name for dim, name in value.items() if name not in post.coords}
                if not value:
                    continue
            post.attrs[key] = copy.deepcopy(value)
        if self.bound.defaults and hasattr(post.attrs.get("prior"), "defaults"):
            post.attrs["prior"].defaults.extend(self.bound.defaults)
        return post


def model(formula: str, data, prior=None, family: str = "gaussian", **options) -> FormulaModel:
    """Build a model from a Wilkinson/lme4 formula and a data frame, ready to ``.sample()``.

    ``data``: a pandas DataFrame (or dict of columns), or data beyond memory: a Dask DataFrame, or Parquet /
    CSV files (a path, a folder, a glob or a list), encoded partition by partition into sufficient statistics
    (:mod:`gibbsreg.formula.partitioned`; the categorical levels are learned from every row first).

    ``y ~ x1 + C(c) + np.log(x2)``: flat :class:`LinearRegression` (prior: SemiConjugate,
    NormalInverseGamma or Exchangeable).  ``y ~ x + (1 + x | g)``: :class:`HierarchicalRegression`
    with the columns of the group term varying by g (population means mu) and the other
    fixed columns pooled (alpha); prior: a HierarchicalPrior.  ``(e | g)`` with several
    columns is a correlated group covariance (InvWishart default, see
    :func:`default_group_covariance`, unless the prior's tau says otherwise); ``(e || g)``
    independent coefficients (a tau per column).  Several factors (``(1 | a) + (1 | b)``,
    ``(1 | a/b)``): ``gibbsreg.CrossedRegression`` (prior: a CrossedPrior).  ``family`` picks the
    likelihood among the registered ones (:func:`gibbsreg.registry.families`); ``options`` go to the
    model (``sampler`` for the hierarchical and crossed models; ``trials="n"`` for family "binomial";
    ``weights="w"``, known precisions, for the flat and one-factor Gaussian models).  Bad input raises ValueError here,
    before any sampling.
    """
    require_formulaic()
    if "intercept" in options:
        raise ValueError("the formula decides the intercept: write '0 +' or '- 1' to drop it")
    if "varying" in options:
        raise ValueError("the formula decides the varying columns: write them in the group term, (1 + x | g)")
    design = build_partitioned_design(formula, data) if is_partitioned(data) else build_design(formula, data)
    kind = registry.select(family, len(design.factors))
    options = _column_options(options, data, formula)
    weights = options.pop("weights", None)
    unknown = sorted(set(options) - set(kind.front.options))
    if unknown:
        what = f"the {kind.name} model ({len(design.factors)} grouping factor{'s' * (len(design.factors) != 1)})"
        raise ValueError(f"unknown option(s) {unknown} for {what}; allowed: {list(kind.front.options) or 'none'} "
                         "(sampling options go to .sample())")
    bound = kind.front.formula(design, prior, **options)
    if weights is not None and "weights" not in inspect.signature(bound.model.sample).parameters:
        raise ValueError(f"the {kind.name} model takes no observation weights (the flat and one-factor Gaussian "
                         "models do)")
    return FormulaModel(design, kind, bound, weights)


COLUMN_OPTIONS = ("trials", "weights")  # options that may name a column of the data instead of giving an array


def _column_options(options: dict, data, formula: str) -> dict:
    """``trials="n"`` (or ``weights="w"``): the named column of ``data`` as a float array, row for row."""
    out = dict(options)
    for key in COLUMN_OPTIONS:
        name = out.get(key)
        if not isinstance(name, str):
            continue
        if is_partitioned(data):
            raise ValueError(f"{key}={name!r}: a column option needs the rows in memory (a pandas DataFrame)")
        df = as_frame(data)
        if name not in df.columns:
            raise ValueError(f"{key}={name!r} is not a column of the data (columns: {list(df.columns)})")
        column = df[name]
        if column.isna().any():
            raise ValueError(f"{key} column {name!r} has a missing value at row {int(np.argmax(column.isna()))}")
        out[key] = column.to_numpy(dtype=float)
    return out
