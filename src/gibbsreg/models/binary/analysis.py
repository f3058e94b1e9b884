"""The binary models' hooks for the analysis layers: rows (Bernoulli/binomial pointwise log-likelihood and
replicated data), prior draws, and predicted probabilities.

The generic ``predict`` hook returns (line, sigma2) and ``gibbsreg.predict`` adds Gaussian noise to the line,
which cannot express a binary outcome; the binary kind's hook therefore refuses with a pointer to
:func:`predict_proba`, which returns a ``PredictiveDraws`` whose ``mean_draws`` are the probabilities and
whose ``y`` are replicated outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, log_ndtr, ndtr

from ...analysis.inference import gaussian_draws
from ...analysis.loglik import check_size
from ...predict import PredictiveDraws, _full_rows
from .data import BinaryData, binary_data

BLOCK_ELEMENTS = 1 << 21  # draws x rows evaluated at once


def _beta(post) -> np.ndarray:
    return np.asarray(post["beta"], dtype=np.float64).reshape(post.nchains * post.ndraws, -1)


def probabilities(eta: np.ndarray, link: str) -> np.ndarray:
    """P(y = 1 | eta): the logistic function or Phi."""
    return 1.0 / (1.0 + np.exp(-eta)) if link == "logit" else ndtr(eta)


def _log_success(eta, link):
    """(log p, log(1 - p)) computed without cancellation."""
    if link == "logit":
        return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
    return log_ndtr(eta), log_ndtr(-eta)


@dataclass
class BinaryRows:
    """The rows of a binary posterior (the interface of gibbsreg.analysis.loglik.Rows)."""

    data: BinaryData
    link: str

    @property
    def n(self) -> int:
        return self.data.n

    @property
    def X(self):
        return self.data.X

    @property
    def y(self):
        return self.data.y

    @property
    def intercept(self) -> bool:
        return self.data.intercept

    def labels(self, post) -> dict:
        """The trials of a binomial model go to the export's constant data."""
        return {} if self.data.bernoulli else {"trials": self.data.trials}

    def _blocks(self, S):
        step = max(1, min(self.n, BLOCK_ELEMENTS // max(S, 1)))
        for start in range(0, self.n, step):
            yield slice(start, min(self.n, start + step))

    def loglik(self, post, *, by="obs", backend="numba", max_bytes=None):
        """log p(y_i | beta) (chains, draws, n): y_i log p_i + (n_i - y_i) log(1 - p_i) + log C(n_i, y_i).
        Computed in NumPy on either ``backend``."""
        if by != "obs":
            raise ValueError("by='group' needs a grouped posterior; the binary model is flat")
        C, D = post.nchains, post.ndraws
        check_size("log-likelihood", C, D, self.n, max_bytes)
        beta = _beta(post)
        d = self.data
        out = np.empty((beta.shape[0], self.n))
        for sl in self._blocks(beta.shape[0]):
            lp, lq = _log_success(beta @ d.full[sl].T, self.link)
            y, t = d.y[sl].astype(float), d.trials[sl].astype(float)
            const = gammaln(t + 1.0) - gammaln(y + 1.0) - gammaln(t - y + 1.0)
            # a zero count times log 0 (p = 0 or 1 in floating point) is 0, not NaN
            out[:, sl] = np.where(y > 0, y * lp, 0.0) + np.where(t > y, (t - y) * lq, 0.0) + const
        return out.reshape(C, D, self.n)

    def replicate(self, post, *, seed=None, backend="numba", max_bytes=None):
        """Replicated outcomes (chains, draws, n): Binomial(n_i, p_i) per draw; chain c's from its own generator
        (SeedSequence(seed).spawn(chains)[c]), so they do not depend on the number of chains."""
        C, D = post.nchains, post.ndraws
        check_size("posterior predictive", C, D, self.n, max_bytes)
        beta = np.asarray(post["beta"], dtype=np.float64)
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        out = np.empty((C, D, self.n))
        for c, ss in enumerate(root.spawn(C)):
            rng = np.random.default_rng(ss)
            p = probabilities(beta[c] @ self.data.full.T, self.link)
            out[c] = rng.binomial(self.data.trials, p)
        return out

    def group_loglik(self, post, *, max_bytes=None):
        raise ValueError("the marginal group log-likelihood needs a grouped posterior; the binary model is flat")


def rows(post, X=None, y=None, groups=None):
    """The rows of a binary posterior: explicit ``X, y`` (``groups`` carries the trials of a binomial model) or
    the data it was sampled from."""
    link = post.attrs.get("link", "logit")
    if X is None and y is None:
        data = getattr(post, "data", None)
        if data is None:
            raise ValueError("this Posterior does not hold the data it was sampled from (it was loaded from disk, "
                             "or built by hand): pass X=, y= (and the trials as groups= for a binomial model)")
        return BinaryRows(data, link)
    if X is None or y is None:
        raise ValueError("pass both X= and y= (or neither, to use the data the Posterior was sampled from)")
    data = binary_data(X, y, groups, bool(post.attrs["intercept"]))
    if data.names != list(post.attrs["names"]):
        raise ValueError(f"X gives coefficients {data.names}; the posterior was fitted with {post.attrs['names']}")
    return BinaryRows(data, link)


def predict(post, full, groups, rng):
    """The generic predict hook cannot express a binary outcome (module docstring): refuse clearly."""
    raise ValueError("a binary posterior predicts probabilities: use BinaryRegression.predict_proba(post, X_new) "
                     "(or gibbsreg.models.binary.predict_proba), not the Gaussian predict")


def prior_draws(post, draws: int, rng):
    """beta ~ N(m0, B0); None under a flat prior."""
    prior = post.prior
    if prior is None or not prior.proper:
        return None
    return {"beta": gaussian_draws(rng, prior.mean, prior.precision, draws)}


def predict_proba(post, X_new, trials=None, seed=None, prob: float = 0.95) -> PredictiveDraws:
    """Predicted probabilities at rows X_new (m, p_x) (without the intercept column): a PredictiveDraws whose
    ``mean_draws`` (chains, draws, m) are P(y = 1 | x, beta) per draw (``line_mean``, ``line_lower``,
    ``line_upper`` summarise them) and whose ``y`` are replicated outcomes, Binomial(trials, p) (trials
    default 1)."""
    if post.attrs.get("model_kind") != "binary":
        raise ValueError("predict_proba needs a posterior of the binary model")
    full = _full_rows(post, X_new)
    p = probabilities(np.einsum("cdp,mp->cdm", np.asarray(post["beta"], dtype=np.float64), full),
                      post.attrs.get("link", "logit"))
    t = np.ones(full.shape[0], dtype=np.int64)
    if trials is not None:
        t = np.broadcast_to(np.asarray(trials), (full.shape[0],))
        if (t != np.round(t)).any() or (t < 0).any():
            raise ValueError("trials must be non-negative whole numbers")
        t = t.astype(np.int64)
    y = np.random.default_rng(seed).binomial(t, p).astype(float)
    return PredictiveDraws(y, p, prob)
