"""How formulas and the command line reach the crossed/nested model (registry.FrontEnd)."""

from __future__ import annotations

from ...group_terms import design_order, factor_tau
from ...registry import Bound, FrontEnd
from .model import CrossedRegression
from .priors import CrossedPrior, Factor


def factor_arguments(design) -> list[dict]:
    """One dict per grouping factor: name, varying (coefficient names, design order), tau prior.

    The arguments of ``gibbsreg.Factor(name, varying=..., tau=...)`` for ``CrossedRegression``;
    tau is the IW default for a correlated term and None (the per-column default) otherwise.
    """
    out = []
    for f in design.factors:
        tau, _ = factor_tau(design, f, None)
        out.append({"name": f.name, "varying": design_order(design, f.columns), "tau": tau})
    return out


def from_formula(design, prior, **options) -> Bound:
    """``(1 | a) + (1 | b)``, ``(1 | a/b)``, ``(1 + x | a) + (1 | b)``: one Factor per grouping factor."""
    args = factor_arguments(design)
    model = CrossedRegression(factors=[Factor(a["name"], varying=a["varying"], tau=a["tau"]) for a in args],
                              prior=prior, intercept=design.intercept, **options)
    return Bound(model, {}, ("tau (HuangWand)",) if any(a["tau"] is not None for a in args) else ())


def prior_from_settings(spec: dict):
    """A CrossedPrior from the command line's keys: mean and scale of the population coefficients, sigma's prior;
    the factors' scales keep their data-scaled defaults (per factor from Python: Factor(tau=...))."""
    taken = {k for k, v in spec.items() if v not in (None, False)}
    refused = sorted(taken - {"mean", "scale", "sigma"}
                     - ({"prior"} if spec.get("prior") in ("semiconjugate",) else set()))
    if refused:
        raise ValueError(f"prior flags {', '.join('--' + k.replace('_', '-') for k in refused)} are not available for "
                         "several grouping factors: set them from Python (gibbsreg.Factor(..., tau=...), "
                         "gibbsreg.CrossedPrior)")
    if spec.get("sigma") == "jeffreys":
        raise ValueError("--sigma jeffreys is for --family student")
    if not taken:
        return None
    return CrossedPrior(fixed_mean=spec.get("mean"), fixed_scale=spec.get("scale"), sigma=spec.get("sigma"))


def build(prior, *, factors, varying, intercept) -> CrossedRegression:
    """Several factors named on the command line: a varying intercept each."""
    if varying or not intercept:
        raise ValueError("with several --groups every factor gets a varying intercept; for varying slopes or "
                         "no intercept write the model with --formula, e.g. \"y ~ x + (1 + x | a) + (1 | b)\"")
    return CrossedRegression([Factor(g) for g in factors], prior=prior)


FRONT = FrontEnd(family="gaussian", factors=(1, None), formula=from_formula, prior=prior_from_settings, build=build,
                 options=("sampler", "joint"))
