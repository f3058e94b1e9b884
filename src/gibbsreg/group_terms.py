"""The scale priors a formula's group terms imply, shared by the models that take group terms (the
hierarchical and the crossed front ends): the covariance default of a correlated term ``(1 + x | g)`` and the
check that an independent term ``(1 + x || g)`` gets a per-column prior.  ``design`` is a formula design
(``gibbsreg.formula.FormulaDesign``: ``names``, ``spread``, ``mean``)."""

from __future__ import annotations

import numpy as np

from .priors import HuangWand, InvWishart


def default_group_covariance(design, varying: list[str]):
    """The default prior of a correlated group covariance: Huang & Wand (2013) with nu = 2 and scales s_k.

    ``varying`` in design order; s_k = sd(y) for the intercept and sd(y)/sd(x_k) for a slope
    (the scales of the half-Cauchy default of the diagonal case; population sds, ddof=0).
    Marginally each sd tau_k ~ half-t(2, s_k), which keeps mass near tau_k = 0 (an inverse-Wishart
    puts none there), and each correlation is uniform on (-1, 1).
    """
    y_sd = design.spread()
    if not y_sd > 0:
        y_sd = max(abs(design.mean()), 1.0)
    s = []
    for name in varying:
        if name == "intercept":
            s.append(y_sd)
            continue
        x_sd = design.spread(name)
        if not x_sd > 0:  # a constant column: its root mean square
            x_sd = abs(design.mean(name)) or 1.0
        s.append(y_sd / x_sd)
    return HuangWand(nu=2.0, scale=np.asarray(s))


def design_order(design, columns: list[str]) -> list[str]:
    return sorted(columns, key=design.names.index)


def factor_tau(design, factor, tau):
    """The tau prior of one grouping factor and whether it is the default: the user's, or Huang-Wand for a
    correlated term, or None (the per-column default)."""
    q = len(factor.columns)
    if tau is None:
        if factor.covariance == "full":
            return default_group_covariance(design, design_order(design, factor.columns)), True
        return None, False
    if isinstance(tau, (InvWishart, HuangWand)) and q > 1 and factor.covariance == "diagonal":
        raise ValueError(f"the coefficients of {factor.name} are independent ({', '.join(t.text for t in factor.terms)}"
                         f": || or separate terms) but the prior's tau is {type(tau).__name__} (a full covariance); "
                         "use (... | g) for correlated coefficients or give tau=HalfCauchy/InvGamma")
    return tau, False
