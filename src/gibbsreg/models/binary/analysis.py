"""The binary models' hooks for the analysis layers: rows (Bernoulli/binomial pointwise log-likelihood and
replicated data), prior draws, and predicted probabilities.

The ``predict`` hook gives the probabilities as the line and Bernoulli replicates (``Posterior.predict``);
:func:`predict_proba` does the same with a number of trials per row (binomial).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, log_ndtr, ndtr

from ...analysis.inference import gaussian_draws, tau2_draws
from ...analysis.loglik import check_size
from ...priors import scale2_draws
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
    """The rows of a binary posterior (the interface of gibbsreg.analysis.loglik.Rows).  Flat: beta (p,) per
    draw.  Hierarchical: ``codes`` (n,) each row's group, ``vi`` / ``pi`` the varying and pooled columns of
    the full design; eta_i = x_vi' beta_j[i] + x_pi' alpha."""

    data: BinaryData
    link: str
    codes: np.ndarray | None = None
    vi: list | None = None
    pi: list | None = None

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

    @property
    def grouped(self) -> bool:
        return self.codes is not None

    def labels(self, post) -> dict:
        """The trials of a binomial model and each row's group label go to the export's constant data."""
        out = {} if self.data.bernoulli else {"trials": self.data.trials}
        if self.grouped:
            out["group_label"] = np.asarray(post.coords["group"])[self.codes]
        return out

    def _blocks(self, S):
        step = max(1, min(self.n, BLOCK_ELEMENTS // max(S, 1)))
        for start in range(0, self.n, step):
            yield slice(start, min(self.n, start + step))

    def _eta(self, post, sl, chain=None):
        """eta (S, m) at rows ``sl`` for every draw (or chain ``chain``'s draws)."""
        full = self.data.full[sl]
        if not self.grouped:
            beta = _beta(post) if chain is None else np.asarray(post["beta"][chain], dtype=np.float64)
            return beta @ full.T
        beta = np.asarray(post["beta"] if chain is None else post["beta"][chain:chain + 1], dtype=np.float64)
        beta = beta.reshape(-1, *beta.shape[-2:])
        eta = np.einsum("smq,mq->sm", beta[:, self.codes[sl], :], full[:, self.vi])
        if self.pi:
            alpha = np.asarray(post["alpha"] if chain is None else post["alpha"][chain:chain + 1], dtype=np.float64)
            eta += alpha.reshape(-1, alpha.shape[-1]) @ full[:, self.pi].T
        return eta

    def loglik(self, post, *, by="obs", backend="numba", max_bytes=None):
        """log p(y_i | theta) (chains, draws, n): y_i log p_i + (n_i - y_i) log(1 - p_i) + log C(n_i, y_i);
        ``by="group"`` (hierarchical) sums them per group (chains, draws, J).  NumPy on either ``backend``."""
        if by not in ("obs", "group"):
            raise ValueError(f"by must be 'obs' or 'group', got {by!r}")
        if by == "group" and not self.grouped:
            raise ValueError("by='group' needs a grouped posterior; this binary model is flat")
        C, D = post.nchains, post.ndraws
        check_size("log-likelihood", C, D, self.n, max_bytes)
        d = self.data
        out = np.empty((C * D, self.n))
        for sl in self._blocks(C * D):
            lp, lq = _log_success(self._eta(post, sl), self.link)
            y, t = d.y[sl].astype(float), d.trials[sl].astype(float)
            const = gammaln(t + 1.0) - gammaln(y + 1.0) - gammaln(t - y + 1.0)
            # a zero count times log 0 (p = 0 or 1 in floating point) is 0, not NaN
            out[:, sl] = np.where(y > 0, y * lp, 0.0) + np.where(t > y, (t - y) * lq, 0.0) + const
        if by == "group":
            J = len(post.coords["group"])
            summed = np.zeros((C * D, J))
            np.add.at(summed.T, self.codes, out.T)
            return summed.reshape(C, D, J)
        return out.reshape(C, D, self.n)

    def replicate(self, post, *, seed=None, backend="numba", max_bytes=None):
        """Replicated outcomes (chains, draws, n): Binomial(n_i, p_i) per draw; chain c's from its own generator
        (SeedSequence(seed).spawn(chains)[c]), so they do not depend on the number of chains."""
        C, D = post.nchains, post.ndraws
        check_size("posterior predictive", C, D, self.n, max_bytes)
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        out = np.empty((C, D, self.n))
        for c, ss in enumerate(root.spawn(C)):
            rng = np.random.default_rng(ss)
            out[c] = rng.binomial(self.data.trials, probabilities(self._eta(post, slice(None), c), self.link))
        return out

    def group_loglik(self, post, *, max_bytes=None):
        raise ValueError("the marginal group log-likelihood (beta_j integrated out) has no closed form for binary "
                         "outcomes; use loglik(by='group'), the conditional one")


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


def hier_rows(post, X=None, y=None, groups=None):
    """The rows of a hierarchical binary posterior: explicit ``X, y, groups`` (Bernoulli) or the data it was
    sampled from."""
    link = post.attrs.get("link", "logit")
    vi, pi = list(post.attrs["varying_index"]), list(post.attrs["pooled_index"])
    if X is None and y is None:
        rows_ = getattr(post, "data", None)
        if rows_ is None:
            raise ValueError("this Posterior does not hold the data it was sampled from: pass X=, y=, groups=")
        return BinaryRows(rows_.original, link, rows_.codes, vi, pi)
    if X is None or y is None or groups is None:
        raise ValueError("pass X=, y= and groups= (or none of them, to use the data the Posterior was sampled from)")
    from ...analysis.loglik import fitted_codes

    data = binary_data(X, y, None, bool(post.attrs["intercept"]))
    return BinaryRows(data, link, fitted_codes(post, groups, data.n), vi, pi)


def hier_prior_draws(post, draws: int, rng):
    """mu ~ N, Sigma from its prior (diag(tau^2) or inverse Wishart), beta_j ~ N(mu, Sigma) for the fitted
    groups, alpha ~ N."""
    from scipy.stats import invwishart

    pr = post.prior
    q, J = len(pr.varying), len(post.coords["group"])
    mu = pr.mu_mean + pr.mu_scale * rng.standard_normal((draws, q))
    if pr.tau_kind == "InvWishart":
        Sigma = invwishart(df=pr.iw_df, scale=pr.iw_scale).rvs(size=draws, random_state=rng).reshape(draws, q, q)
    elif pr.tau_kind in ("InvGamma", "HalfCauchy"):
        tau2 = tau2_draws(rng, pr.tau_kind, pr.tau_a, pr.tau_b, pr.tau_scale, draws, q)
    else:
        tau2 = scale2_draws(rng, pr.tau_kind, pr.tau_scale, pr.tau_nu, pr.tau_rate, draws, q)
    if pr.tau_kind != "InvWishart":
        Sigma = np.einsum("da,ab->dab", tau2, np.eye(q))
    L = np.linalg.cholesky(Sigma)
    beta = mu[:, None, :] + np.einsum("dab,djb->dja", L, rng.standard_normal((draws, J, q)))
    out = {"mu": mu, "beta": beta}
    out.update({"Sigma": Sigma} if pr.tau_kind == "InvWishart" else {"tau2": np.diagonal(Sigma, axis1=1, axis2=2)})
    if pr.pooled:
        out["alpha"] = pr.pooled_mean + pr.pooled_scale * rng.standard_normal((draws, len(pr.pooled)))
    return out


def predict(post, full, groups, rng):
    """The predict hook: P(y = 1 | x, theta) per draw at full rows (m, p), and one Bernoulli replicate per draw."""
    p = probabilities(_eta(post, full, groups, rng), post.attrs.get("link", "logit"))
    return p, lambda line, rng: rng.binomial(1, line).astype(float)


def _eta(post, full, groups, rng) -> np.ndarray:
    """The linear predictor (chains, draws, m) of a flat or hierarchical binary posterior at full rows."""
    if post.attrs.get("model_kind") == "binary":
        return np.einsum("cdp,mp->cdm", np.asarray(post["beta"], dtype=np.float64), full)
    return _hier_eta(post, full, groups, rng)


def prior_draws(post, draws: int, rng):
    """beta ~ N(m0, B0); None under a flat prior."""
    prior = post.prior
    if prior is None or not prior.proper:
        return None
    return {"beta": gaussian_draws(rng, prior.mean, prior.precision, draws)}


def _hier_eta(post, full, groups, rng) -> np.ndarray:
    """eta (chains, draws, m) of a hierarchical posterior at full rows: a fitted group's beta_j, or for a label not
    fitted one beta ~ N(mu, Sigma) per (chain, draw) and new label."""
    if groups is None:
        raise ValueError("a hierarchical binary posterior predicts with groups= (one label per new row)")
    from ...io.groups import encode_groups

    vi, pi = list(post.attrs["varying_index"]), list(post.attrs["pooled_index"])
    codes, labels = encode_groups(groups, full.shape[0], min_groups=1)
    fitted = {lab: j for j, lab in enumerate(post.coords["group"])}
    beta = np.asarray(post["beta"], dtype=np.float64)
    C, D, _, q = beta.shape
    rows_beta = np.empty((C, D, full.shape[0], q))
    for k, lab in enumerate(labels.tolist()):
        at = codes == k
        if lab in fitted:
            rows_beta[:, :, at] = beta[:, :, fitted[lab], None, :]
        else:
            L = (np.linalg.cholesky(np.asarray(post["Sigma"], dtype=np.float64)) if "Sigma" in post
                 else np.sqrt(np.asarray(post["tau2"], dtype=np.float64))[..., None] * np.eye(q))
            new = post["mu"] + np.einsum("cdab,cdb->cda", L, rng.standard_normal((C, D, q)))
            rows_beta[:, :, at] = new[:, :, None, :]
    eta = np.einsum("cdmq,mq->cdm", rows_beta, full[:, vi])
    if pi:
        eta += np.einsum("cdr,mr->cdm", np.asarray(post["alpha"], dtype=np.float64), full[:, pi])
    return eta


def predict_proba(post, X_new, groups=None, trials=None, seed=None, prob: float = 0.95) -> PredictiveDraws:
    """Predicted probabilities at rows X_new (m, p_x) (without the intercept column): a PredictiveDraws whose
    ``mean_draws`` (chains, draws, m) are P(y = 1 | x, theta) per draw (``line_mean``, ``line_lower``,
    ``line_upper`` summarise them) and whose ``y`` are replicated outcomes, Binomial(trials, p) (trials
    default 1).  A hierarchical posterior needs ``groups`` (one label per row): a fitted group uses its
    coefficients, a new label coefficients drawn from N(mu, Sigma) for each draw."""
    kind = post.attrs.get("model_kind")
    if kind not in ("binary", "binary_hier"):
        raise ValueError("predict_proba needs a posterior of a binary model")
    full = _full_rows(post, X_new)
    rng = np.random.default_rng(seed)
    p = probabilities(_eta(post, full, groups, rng), post.attrs.get("link", "logit"))
    t = np.ones(full.shape[0], dtype=np.int64)
    if trials is not None:
        t = np.broadcast_to(np.asarray(trials), (full.shape[0],))
        if (t != np.round(t)).any() or (t < 0).any():
            raise ValueError("trials must be non-negative whole numbers")
        t = t.astype(np.int64)
    y = rng.binomial(t, p).astype(float)
    return PredictiveDraws(y, p, prob)
