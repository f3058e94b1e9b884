"""How formulas and the command line reach the binary models (registry.FrontEnd): family "bernoulli", option
``link`` ("logit" or "probit"; ``sampler`` too with a group term).  ``gibbsreg.model("y ~ x + (1 + x | g)",
data, family="bernoulli", link="probit")``.

Family "binomial" (BINOMIAL_FLAT_FRONT, BINOMIAL_HIER_FRONT) takes the option ``trials``: the number of trials
of each row, (n,) whole numbers >= the response's success counts.  The formula layer (or the command line's
``--trials COL``) turns a column name into that array; the model is then bound to it (:class:`WithTrials`), so
``.sample()`` and the registry's ``FrontEnd.call`` need no third data argument."""

from __future__ import annotations

import math

import numpy as np

from ...group_terms import design_order, factor_tau
from ...priors import InvWishart
from ...registry import Bound, FrontEnd
from .hier import HierarchicalBinaryPrior, HierarchicalBinaryRegression
from .data import binary_counts
from .model import BinaryRegression
from .priors import DEFAULT_SCALE, Flat, Normal

_POSTERIOR_DIMS = frozenset({"chain", "draw", "coef", "coef_", "pooled_coef", "group"})


class WithTrials:
    """A binary model bound to its rows' trials: ``sample(X, y[, groups], **options)`` and ``resume`` are the
    model's with ``trials=`` added; other attributes are the model's."""

    def __init__(self, model, trials):
        self.model = model
        self.trials = np.asarray(trials)

    def sample(self, *rows, **options):
        return self.model.sample(*rows, trials=self.trials, **options)

    def resume(self, post, *rows, **options):
        return self.model.resume(post, *rows, trials=self.trials, **options)

    def __getattr__(self, name):
        if name in ("model", "trials"):  # not set yet (copy, pickle): no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return f"<{type(self.model).__name__} with trials (n = {self.trials.shape[0]})>"


def _trials(trials, n, family):
    """The trials option checked against the rows: required for "binomial", refused for "bernoulli"."""
    if family == "bernoulli":
        if trials is not None:
            raise ValueError("trials= makes the response binomial counts: use family='binomial'")
        return None
    if trials is None:
        raise ValueError("family='binomial' needs the trials of each row: trials='column' (or cbind(successes, "
                         "trials) ~ ...; --trials COL on the command line)")
    if isinstance(trials, str):
        raise ValueError(f"trials={trials!r}: the formula layer resolves a column name to its values; a front end "
                         "takes the values, one per row")
    t = np.asarray(trials)
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(f"trials must hold one number per row ({n}), got shape {t.shape}")
    return t


def _bind(model, trials):
    return model if trials is None else WithTrials(model, trials)


def flat_formula(design, prior, link: str = "logit", trials=None, family: str = "bernoulli") -> Bound:
    """``y ~ x1 + x2``: a BinaryRegression with the formula's intercept (bound to ``trials`` for binomial)."""
    if prior is not None and not isinstance(prior, Normal):
        raise ValueError(f"a {family} formula without a group term takes a binary Normal or Flat prior, got "
                         f"{type(prior).__name__}")
    trials = _trials(trials, len(design.y), family)
    if trials is not None:  # the counts are checked against the trials here, before any sampling
        binary_counts(design.y, trials)
    return Bound(_bind(BinaryRegression(link, prior, intercept=design.intercept), trials))


def binomial_flat_formula(design, prior, link: str = "logit", trials=None) -> Bound:
    """``k ~ x`` with ``trials``: a binomial BinaryRegression."""
    return flat_formula(design, prior, link, trials, "binomial")


def flat_prior(spec: dict):
    """Normal(mean, scale) or Flat() from the command line's keys (None: the default Normal)."""
    if spec.get("sigma") is not None:
        raise ValueError("a prior on sigma (--sigma, --a/--b) does not apply to a binary model (it has no noise scale)")
    for key in ("tau", "mu_scale", "group_variance", "nu"):
        if spec.get(key):
            raise ValueError(f"--{key.replace('_', '-')} does not apply to a flat binary model")
    name = str(spec.get("prior", "normal")).lower()
    if name == "flat":
        return Flat()
    if name not in ("normal", "semiconjugate"):
        raise ValueError(f"--prior {spec.get('prior')!r}: a binary model takes 'normal' or 'flat'")
    if spec.get("mean") is None and spec.get("scale") is None:
        return None
    return Normal(mean=spec.get("mean"), scale=spec.get("scale"))


def flat_build(prior, *, factors, varying, intercept, link: str = "logit", trials=None):
    if varying:
        raise ValueError("--varying needs --groups (a hierarchical model)")
    return _bind(BinaryRegression(link, prior, intercept=intercept), trials)


def binomial_flat_build(prior, *, factors, varying, intercept, link: str = "logit", trials=None):
    """The command line's binomial model: ``--trials COL`` given as the column's values."""
    if trials is None:
        raise ValueError("--family binomial needs --trials COL (the number of trials of each row)")
    return flat_build(prior, factors=factors, varying=varying, intercept=intercept, link=link, trials=trials)


def _default_covariance(design, varying):
    """IW(q + 1, diag(s^2)) on a correlated term: s = 1 for the intercept, 1/sd(x) for a slope (the scales of
    the binary half-Cauchy default; each tau_k^2 ~ IG(1, s_k^2/2) marginally, correlations uniform)."""
    s = []
    for name in varying:
        if name == "intercept":
            s.append(1.0)
            continue
        sd = design.spread(name)
        s.append(1.0 / sd if sd > 0 else 1.0)
    return InvWishart(len(varying) + 1, np.diag(np.asarray(s) ** 2))


def hier_formula(design, prior, link: str = "logit", sampler: str = "asis", trials=None,
                 family: str = "bernoulli") -> Bound:
    """``y ~ x + (1 + x | g)``: the group term's columns vary by g, the others are pooled; a correlated term
    with several columns gets an inverse-Wishart default, ``(... || g)`` a tau per column."""
    trials = _trials(trials, len(design.y), family)
    if trials is not None:
        binary_counts(design.y, trials)
    prior = HierarchicalBinaryPrior() if prior is None else prior
    if not isinstance(prior, HierarchicalBinaryPrior):
        raise ValueError("a bernoulli formula with a group term needs a HierarchicalBinaryPrior, got "
                         f"{type(prior).__name__}")
    factor = design.factors[0]
    varying = design_order(design, factor.columns)
    if prior.tau is None and factor.covariance == "full" and len(varying) > 1:
        tau, defaults = _default_covariance(design, varying), ("tau (InvWishart)",)
    else:
        tau, defaults = factor_tau(design, factor, prior.tau)[0], ()
    if tau is not prior.tau:
        prior = HierarchicalBinaryPrior(prior.mu_mean, prior.mu_scale, tau, prior.pooled_mean, prior.pooled_scale)
    model = HierarchicalBinaryRegression(link, prior, varying=varying, intercept=design.intercept, sampler=sampler)
    attrs = {} if factor.name in _POSTERIOR_DIMS else {"arviz_dims": {"group": factor.name}}
    return Bound(_bind(model, trials), attrs, defaults)


def binomial_hier_formula(design, prior, link: str = "logit", sampler: str = "asis", trials=None) -> Bound:
    """``k ~ x + (1 + x | g)`` with ``trials``: a binomial HierarchicalBinaryRegression."""
    return hier_formula(design, prior, link, sampler, trials, "binomial")


def hier_prior(spec: dict):
    """A HierarchicalBinaryPrior from the command line's keys (mean and scale apply to mu and the pooled ones)."""
    if spec.get("sigma") is not None:
        raise ValueError("a prior on sigma (--sigma, --a/--b) does not apply to a binary model (it has no noise scale)")
    for key in ("group_variance", "nu"):
        if spec.get(key):
            raise ValueError(f"--{key.replace('_', '-')} does not apply to a binary model (it has no noise scale)")
    mean, scale, mu_scale = spec.get("mean"), spec.get("scale"), spec.get("mu_scale")
    if isinstance(scale, float) and math.isinf(scale):
        raise ValueError("--scale inf (a flat prior) is not available for hierarchical models")
    if all(v is None for v in (mean, scale, mu_scale, spec.get("tau"))):
        return None
    return HierarchicalBinaryPrior(mu_mean=mean, mu_scale=mu_scale if mu_scale is not None else scale,
                                   tau=spec.get("tau"), pooled_mean=mean, pooled_scale=scale)


def hier_build(prior, *, factors, varying, intercept, link: str = "logit", sampler: str = "asis", trials=None):
    return _bind(HierarchicalBinaryRegression(link, prior, varying=varying, intercept=intercept, sampler=sampler),
                 trials)


def binomial_hier_build(prior, *, factors, varying, intercept, link: str = "logit", sampler: str = "asis",
                        trials=None):
    if trials is None:
        raise ValueError("--family binomial needs --trials COL (the number of trials of each row)")
    return hier_build(prior, factors=factors, varying=varying, intercept=intercept, link=link, sampler=sampler,
                      trials=trials)


FLAT_FRONT = FrontEnd(family="bernoulli", factors=(0, 0), formula=flat_formula, prior=flat_prior, build=flat_build,
                      options=("link",))
HIER_FRONT = FrontEnd(family="bernoulli", factors=(1, 1), formula=hier_formula, prior=hier_prior, build=hier_build,
                      options=("link", "sampler"))
BINOMIAL_FLAT_FRONT = FrontEnd(family="binomial", factors=(0, 0), formula=binomial_flat_formula, prior=flat_prior,
                               build=binomial_flat_build, options=("link", "trials"))
BINOMIAL_HIER_FRONT = FrontEnd(family="binomial", factors=(1, 1), formula=binomial_hier_formula, prior=hier_prior,
                               build=binomial_hier_build, options=("link", "sampler", "trials"))

__all__ = ["BINOMIAL_FLAT_FRONT", "BINOMIAL_HIER_FRONT", "DEFAULT_SCALE", "FLAT_FRONT", "HIER_FRONT", "WithTrials"]
