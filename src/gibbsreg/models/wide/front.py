"""How the command line and formulas reach the wide model (registry.FrontEnd): ``--prior horseshoe``,
``--prior regularized-horseshoe --p0 20 --slab-scale 2 --slab-df 4``, ``--prior lasso``."""

from __future__ import annotations

from ...priors import InvGamma
from ...registry import Bound, FrontEnd
from .priors import BayesianLasso, Horseshoe, RegularizedHorseshoe

PRIOR_NAMES = {"horseshoe": Horseshoe, "hs": Horseshoe, "regularizedhorseshoe": RegularizedHorseshoe,
               "regularisedhorseshoe": RegularizedHorseshoe, "rhs": RegularizedHorseshoe,
               "lasso": BayesianLasso, "bayesianlasso": BayesianLasso}
# the command line's keys each prior takes (beyond prior and sigma)
TAKES = {Horseshoe: ("global_scale", "p0"), RegularizedHorseshoe: ("global_scale", "p0", "slab_scale", "slab_df"),
         BayesianLasso: ("lasso_shape", "lasso_rate")}
ARGUMENT = {"lasso_shape": "shape", "lasso_rate": "rate"}  # key -> the prior's argument (else the same name)


def prior_name(spec: dict) -> str:
    """--prior's value folded (case, '-' and '_' dropped): 'regularized-horseshoe' -> 'regularizedhorseshoe'."""
    return str(spec.get("prior", "")).lower().replace("-", "").replace("_", "")


def prior_from_settings(spec: dict):
    """Horseshoe / RegularizedHorseshoe / BayesianLasso from the command line's keys; a key the prior does not
    take, or a number it refuses, is a ValueError naming the flag."""
    name = prior_name(spec)
    if name not in PRIOR_NAMES:
        raise ValueError(f"--prior {spec.get('prior')!r}: unknown prior; the wide priors are "
                         f"{sorted(set(PRIOR_NAMES) - {'hs', 'rhs', 'bayesianlasso', 'regularisedhorseshoe'})}")
    cls = PRIOR_NAMES[name]
    takes = TAKES[cls]
    given = {k for k, v in spec.items() if v is not None and v is not False and k not in ("prior", "sigma")}
    wrong = sorted(given - set(takes))
    if wrong:
        raise ValueError(f"--prior {spec['prior']}: {', '.join('--' + k.replace('_', '-') for k in wrong)} "
                         f"does not apply (it takes {', '.join('--' + k.replace('_', '-') for k in takes)}, --sigma)")
    sigma = spec.get("sigma")
    if sigma is not None and sigma != "jeffreys" and not isinstance(sigma, InvGamma):
        raise ValueError("the wide priors take an inverse-gamma prior on sigma^2 (--sigma invgamma:A,B or "
                         "--a/--b) or Jeffreys' (the default)")
    kwargs = {ARGUMENT.get(k, k): float(spec[k]) for k in takes if spec.get(k) is not None}
    return cls(sigma=None if sigma == "jeffreys" else sigma, **kwargs)


def from_formula(design, prior) -> Bound:
    """``y ~ x1 + x2 + ...`` under a wide prior: a LinearRegression with the formula's intercept."""
    from ...registry import get

    return Bound(get("flat").model(prior=prior, intercept=design.intercept))


def build(prior, *, factors, varying, intercept):
    from ...registry import get

    if varying or factors:
        raise ValueError("the wide priors (--prior horseshoe, regularized-horseshoe, lasso) are for models "
                         "without --groups")
    return get("flat").model(prior=prior, intercept=intercept)


FRONT = FrontEnd(family="gaussian", factors=(0, 0), formula=from_formula, prior=prior_from_settings, build=build)
