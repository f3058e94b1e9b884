"""Plots for gibbsreg posteriors, posterior predictive checks and studies (matplotlib only).

Every function returns the matplotlib Figure, or the Axes when ``ax=`` is given
(accepted where one axis fits the plot); nothing calls ``plt.show()``.
matplotlib is imported inside the functions, so ``import gibbsreg`` does not
need it.

Choosing what to plot
---------------------
``var_names`` is a variable name or a list of names (default: every variable,
group-level ones -- mu, tau2, alpha, sigma2 -- before per-group ones such as
beta (J, q)).  ``coords`` maps a dimension name to the coordinates to keep:
a list of labels (``{"group": ["a", "b"], "coef": ["x1"]}``), a single label,
or a ``slice`` of positions (``{"group": slice(0, 50)}``).  Panel-per-scalar
plots show at most ``max_panels`` scalars (default 10) and say so in the figure
title when they cut.

Many chains
-----------
Line width and transparency shrink with the chain count.  Above ``max_chains``
(default 20) chains, :func:`plot_trace` replaces the trace column by per-chain
rank histograms drawn as a heat map (one row per chain; colour = bin count /
count expected under uniform ranks), which stays readable for 1,000 chains and
shows a stuck or drifting chain as a coloured row; ``kind="trace"`` instead
draws the traces of ``max_chains`` randomly chosen chains (listed in the title).

Units
-----
If ``post.attrs["units"]`` is a dict such as ``{"y": "kg", "x1": "cm"}``, axes
carry units: ``beta[x1]`` in kg/cm, the intercept and ``mu`` in kg, ``sigma2``
in kg^2 and so on.
"""

from ._common import MAX_CHAINS, _kde_curve  # noqa: F401  (module constant; _kde_curve for tests)
from .chains import plot_autocorr, plot_density, plot_rank, plot_trace
from .predictive import plot_ppc, plot_ppc_stats, plot_predictive
from .summaries import (
    plot_convergence,
    plot_forest,
    plot_prior_sensitivity,
    plot_shrinkage,
)

__all__ = [
    "plot_trace",
    "plot_rank",
    "plot_autocorr",
    "plot_density",
    "plot_forest",
    "plot_ppc",
    "plot_ppc_stats",
    "plot_predictive",
    "plot_shrinkage",
    "plot_prior_sensitivity",
    "plot_convergence",
]
