"""Posterior predictive draws at new rows, for every model kind (through its ``predict`` hook)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import registry
from .data import new_rows


@dataclass
class PredictiveDraws:
    """Posterior predictive at m new rows.

    ``y`` (chains, draws, m): replicated observations; ``mean_draws``: the
    regression function x'beta per draw.  ``mean``, ``lower``, ``upper`` summarise
    ``y`` (equal-tailed, probability ``prob``); ``line_lower``/``line_upper`` the
    credible band of the regression function.
    """

    y: np.ndarray
    mean_draws: np.ndarray
    prob: float

    def _q(self, x, q):
        return np.quantile(x.reshape(-1, x.shape[-1]), q, axis=0)

    @property
    def mean(self):
        return self.y.mean(axis=(0, 1))

    @property
    def lower(self):
        return self._q(self.y, (1 - self.prob) / 2)

    @property
    def upper(self):
        return self._q(self.y, (1 + self.prob) / 2)

    @property
    def line_mean(self):
        return self.mean_draws.mean(axis=(0, 1))

    @property
    def line_lower(self):
        return self._q(self.mean_draws, (1 - self.prob) / 2)

    @property
    def line_upper(self):
        return self._q(self.mean_draws, (1 + self.prob) / 2)

    ROWS_SHOWN = 3

    def __repr__(self) -> str:
        C, D, m = self.y.shape
        k = min(m, self.ROWS_SHOWN)
        mean, lo, hi = self.mean[:k], self.lower[:k], self.upper[:k]
        rows = ", ".join(f"{a:.4g} [{b:.4g}, {c:.4g}]" for a, b, c in zip(mean, lo, hi))
        more = f", ... ({m - k} more rows)" if m > k else ""
        return (f"<PredictiveDraws: y {C} chains x {D} draws x {m} rows; mean [{100 * self.prob:g}% interval]: "
                f"{rows}{more}>")

    __str__ = __repr__


def _full_rows(post, X_new) -> np.ndarray:
    attrs = post.attrs
    names = attrs["names"]
    intercept = attrs["intercept"]
    Xn = new_rows(X_new, len(names) - int(intercept), names[int(intercept):])
    return np.hstack([np.ones((Xn.shape[0], 1)), Xn]) if intercept else Xn


def predict(post, X_new, groups=None, seed=None, prob: float = 0.95) -> PredictiveDraws:
    """Posterior predictive draws at rows X_new (m, p_x), without the intercept column.

    The model kind's ``predict`` hook gives the regression function per draw, the line (flat: x*'beta;
    grouped models: a known group's coefficients, or for a new group one draw per (chain, draw) from the
    population distribution; binary models: the probability), and the observation model: the noise variance
    of each row, y* = line + sigma z (Gaussian; a Student-t hook draws sigma^2 / w per draw), or a function
    ``replicate(line, rng) -> y*`` for other families (Bernoulli, binomial).
    """
    if "names" not in post.attrs:
        raise ValueError("this Posterior does not record its design (names/intercept), so it cannot predict")
    full = _full_rows(post, X_new)
    rng = np.random.default_rng(seed)
    line, noise = registry.of_posterior(post).predict(post, full, groups, rng)
    if callable(noise):
        return PredictiveDraws(np.asarray(noise(line, rng), dtype=float), line, prob)
    z = rng.standard_normal((post.nchains, post.ndraws, full.shape[0]))
    return PredictiveDraws(line + np.sqrt(noise) * z, line, prob)
