"""Closed-form posterior of the conjugate Normal-Inverse-Gamma regression."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats as sps

from ...data import new_rows
from ...io.api import model_stats, remembered_rows
from ...coords import check_identified, prior_in_sampler_coords
from ...posterior import Posterior, SummaryTable
from ...priors import NormalInverseGamma
from ...sampling import chain_streams


@dataclass
class StudentT:
    """Elementwise Student-t: location, scale, dof, and an equal-tailed interval [lower, upper]."""

    location: np.ndarray
    scale: np.ndarray
    dof: float
    lower: np.ndarray
    upper: np.ndarray
    prob: float

    @property
    def mean(self) -> np.ndarray:
        return self.location if self.dof > 1 else np.full_like(self.location, np.nan)

    @property
    def sd(self) -> np.ndarray:
        if self.dof <= 2:
            return np.full_like(self.scale, np.inf)
        return self.scale * math.sqrt(self.dof / (self.dof - 2))


def _student_t(location, scale, dof, prob) -> StudentT:
    q = sps.t.ppf(0.5 + prob / 2, dof)
    return StudentT(location, scale, dof, location - q * scale, location + q * scale, prob)


@dataclass
class Prediction:
    """Posterior predictive at new rows: ``y`` for a new observation, ``mean`` for the regression line x*'beta."""

    y: StudentT
    mean: StudentT


class ConjugatePosterior:
    """Exact NIG posterior: sigma^2 | y ~ IG(a_n, b_n), beta | sigma^2, y ~ N(m_n, sigma^2 V_n).

    Attributes: ``mean`` (p,) and ``cov`` (p, p) of beta; ``a_n``, ``b_n``; ``V_n``;
    the multivariate-t marginal of beta with ``dof`` = 2 a_n, ``location`` = m_n
    and ``scale`` = (b_n / a_n) V_n; ``log_evidence`` = log p(y).
    """

    def __init__(self, source, stats, prior, data=None):
        self.names = source.names
        self.prior = prior
        self.n = source.n
        self._p_x = len(source.x_names)
        self._source = source  # the mergeable statistics (FlatStats), for update()
        self._stats = stats
        self._data = data  # FittedData: in-memory rows by reference, for exact LOO and the draws' log-likelihood
        tr = stats.transform
        self._transform = tr
        P, m = prior_in_sampler_coords(stats, prior)
        check_identified(stats, prior, P)
        A = P + stats.G
        self._L = np.linalg.cholesky(A)
        mn = np.linalg.solve(A, P @ m + stats.h)
        self._mn_gamma = mn
        self._Vn_gamma = np.linalg.inv(A)
        self._Vn_gamma = 0.5 * (self._Vn_gamma + self._Vn_gamma.T)
        n_flat = int(prior.flat.sum())
        self.a_n = prior.a + 0.5 * (self.n - n_flat)
        d = mn - m
        self.b_n = prior.b + 0.5 * (float(stats.rss(mn)) + float(d @ P @ d))
        if self.a_n <= 0:
            raise ValueError("the posterior of sigma^2 is improper (a + (n - number of flat coefficients)/2 <= 0)")
        self.location = tr.to_beta(mn)
        self.V_n = tr.cov_to_beta(self._Vn_gamma)
        self.dof = 2.0 * self.a_n
        self.scale = (self.b_n / self.a_n) * self.V_n
        if prior.flat.any():
            self.log_evidence = float("nan")  # improper prior: the evidence is not defined
        else:
            logdet_P = 2.0 * np.log(np.diag(np.linalg.cholesky(P))).sum()
            logdet_A = 2.0 * np.log(np.diag(self._L)).sum()
            self.log_evidence = float(
                -0.5 * self.n * math.log(2 * math.pi) + 0.5 * (logdet_P - logdet_A)
                + prior.a * math.log(prior.b) - self.a_n * math.log(self.b_n)
                + special.gammaln(self.a_n) - special.gammaln(prior.a)
            )

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean of beta (m_n)."""
        return self.location

    @property
    def cov(self) -> np.ndarray:
        """Posterior covariance of beta, b_n / (a_n - 1) V_n (infinite when a_n <= 1)."""
        if self.a_n <= 1:
            return np.full_like(self.V_n, np.inf)
        return self.b_n / (self.a_n - 1) * self.V_n

    @property
    def sigma2_mean(self) -> float:
        return self.b_n / (self.a_n - 1) if self.a_n > 1 else float("inf")

    @property
    def sigma2_sd(self) -> float:
        if self.a_n <= 2:
            return float("inf")
        return self.b_n / ((self.a_n - 1) * math.sqrt(self.a_n - 2))

    def credible_interval(self, prob: float = 0.95) -> np.ndarray:
        """Equal-tailed intervals of each beta_k from its Student-t marginal, shape (p, 2)."""
        t = _student_t(self.location, np.sqrt(np.diag(self.scale)), self.dof, prob)
        return np.column_stack([t.lower, t.upper])

    def sigma2_interval(self, prob: float = 0.95) -> np.ndarray:
        """Equal-tailed interval of sigma^2 from IG(a_n, b_n), shape (2,)."""
        lo, hi = (1 - prob) / 2, (1 + prob) / 2
        return np.array([sps.invgamma.ppf(lo, self.a_n, scale=self.b_n), sps.invgamma.ppf(hi, self.a_n, scale=self.b_n)])

    def predict(self, X_new, prob: float = 0.95) -> Prediction:
        """Student-t predictive at new rows X_new (m, p_x) (without the intercept column).

        y* ~ t_{2 a_n}(x*'m_n, (b_n/a_n)(1 + x*'V_n x*)); the regression line x*'beta
        has the same form without the 1.
        """
        Xn = new_rows(X_new, self._p_x, self.names)
        tr = self._transform
        Z = tr.z_rows(Xn)
        full = np.hstack([np.ones((Xn.shape[0], 1)), Xn]) if tr.intercept else Xn
        loc = full @ tr.beta_ref + Z @ self._mn_gamma
        quad = np.einsum("ij,jk,ik->i", Z, self._Vn_gamma, Z)
        s2 = self.b_n / self.a_n
        return Prediction(y=_student_t(loc, np.sqrt(s2 * (1.0 + quad)), self.dof, prob),
                          mean=_student_t(loc, np.sqrt(s2 * quad), self.dof, prob))

    def sample(self, draws: int = 1000, chains: int = 1, seed=None) -> Posterior:
        """Exact iid draws: sigma^2 ~ IG(a_n, b_n), then beta = m_n + sigma L^{-T} z.

        The Posterior keeps the generators' state: ``resume(post, draws=N)`` appends N more
        draws per chain, equal bit for bit to one call with the total number of draws.
        """
        from ...runstate import RunState, capture_streams, seed_label

        for name, v, lo in (("draws", draws, 1), ("chains", chains, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        streams = chain_streams(seed, chains)
        state = RunState("conjugate", int(chains), {}, capture_streams(streams), 0, 0, int(draws), 0, 1,
                         seed_label(seed), "numpy", self._fingerprint(), {"model": "ConjugatePosterior"})
        return self._draw(streams, state, int(draws), None)

    def resume(self, post: Posterior, draws: int = 1000) -> Posterior:
        """``draws`` more exact draws per chain after those of ``post`` (made by this posterior's sample)."""
        from ...runstate import check_fingerprint, restore_streams

        state = getattr(post, "state", None)
        if state is None or state.kind != "conjugate":
            raise ValueError("resume needs a posterior made by ConjugatePosterior.sample (it keeps the generators' state)")
        if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
            raise ValueError(f"draws must be an integer >= 1, got {draws!r}")
        check_fingerprint(state.fingerprint, self._fingerprint())
        state = state.copy()
        return self._draw(restore_streams(state.rng), state, int(draws), post)

    def _fingerprint(self):
        from ...runstate import fingerprint

        tr = self._transform
        st = self._stats
        return fingerprint({"kind": "conjugate", "names": list(self.names), "intercept": bool(tr.intercept)},
                           {"G": st.G, "h": st.h, "rr": st.rr, "n": float(st.n), "shift": tr.shift,
                            "scale": tr.scale, "beta_ref": tr.beta_ref}, self.prior.to_dict())

    def _draw(self, streams, state, draws, previous) -> Posterior:
        from ...runner import affine_rows
        from ...runstate import capture_streams

        p = len(self.names)
        sigma2 = np.stack([self.b_n / g.standard_gamma(self.a_n, draws) for g in streams.gamma])
        z = np.stack([g.standard_normal((draws, p)) for g in streams.normal])
        # u = L^{-T} z by element-wise back substitution: each draw's numbers do not depend on how
        # many draws are made at once (so resumed and single runs agree bit for bit)
        L = self._L
        u = np.empty_like(z)
        for i in range(p - 1, -1, -1):
            acc = z[..., i].copy()
            for k in range(p - 1, i, -1):
                acc -= L[k, i] * u[..., k]
            u[..., i] = acc / L[i, i]
        gamma = self._mn_gamma + np.sqrt(sigma2)[..., None] * u
        beta = np.empty_like(gamma)
        affine_rows(gamma, self._transform.T_inv(), self._transform.beta_ref, beta)
        if previous is not None:
            beta = np.concatenate([previous["beta"], beta], axis=1)
            sigma2 = np.concatenate([previous["sigma2"], sigma2], axis=1)
        state.draws_done += draws
        state.draws_target = state.draws_done
        state.rng = capture_streams(streams)
        attrs = {"model": "NormalInverseGamma (exact)", "prior": self.prior, "chains": state.chains,
                 "draws": state.draws_done, "model_kind": "flat", "intercept": self._transform.intercept,
                 "names": list(self.names)}
        post = Posterior({"beta": beta, "sigma2": sigma2}, dims={"beta": ["coef"], "sigma2": []},
                         coords={"coef": list(self.names)}, attrs=attrs)
        post.state = state
        post.data = self._data
        return post

    def update(self, X_new=None, y_new=None, *, stats=None) -> "ConjugatePosterior":
        """Sequential updating: this posterior becomes the prior for new rows (X_new, y_new) or their ``stats``.

        The result is the posterior given all rows so far under the original prior (its numbers,
        data-scaled defaults included, stay those resolved at the first fit); it is computed by
        merging the statistics, so it equals the batch fit on all rows to rounding, and
        ``log_evidence`` becomes log p(y_old, y_new) = log p(y_old) + log p(y_new | y_old).
        """
        new = model_stats(X_new, y_new, stats=stats, intercept=self._source.intercept, who="update")
        if list(new.x_names) != list(self._source.x_names):
            raise ValueError(f"update: the new rows have columns {list(new.x_names)}, the fit has "
                             f"{list(self._source.x_names)}")
        merged = self._source + new
        return ConjugatePosterior(merged, merged.to_sufficient(), self.prior)

    def summary(self, prob: float = 0.95) -> SummaryTable:
        """Exact posterior mean, sd and equal-tailed interval of each beta_k and sigma^2."""
        ci = self.credible_interval(prob)
        sd = np.sqrt(np.diag(self.cov))
        rows = [[self.location[k], sd[k], ci[k, 0], ci[k, 1]] for k in range(len(self.names))]
        si = self.sigma2_interval(prob)
        rows.append([self.sigma2_mean, self.sigma2_sd, si[0], si[1]])
        lo, hi = 100 * (1 - prob) / 2, 100 * (1 + prob) / 2
        cols = ["mean", "sd", f"{lo:g}%", f"{hi:g}%"]
        header = f"Conjugate NIG posterior (exact), n = {self.n}, log evidence = {self.log_evidence:.6g}"
        return SummaryTable([f"beta[{n}]" for n in self.names] + ["sigma2"], cols, np.array(rows), header)

    def __str__(self) -> str:
        return str(self.summary()) + "\n" + str(self.prior)


def fit_conjugate(X=None, y=None, prior: NormalInverseGamma | None = None, intercept: bool = True, *,
                  stats=None) -> ConjugatePosterior:
    """Closed-form posterior of y = X beta + eps under beta | sigma^2 ~ N(m0, sigma^2 V0), sigma^2 ~ IG(a0, b0).

    ``stats=`` (from :func:`gibbsreg.sufficient_stats`, :func:`gibbsreg.read_stats` or
    :func:`gibbsreg.load_stats`) replaces X and y; X and y may be Dask collections.
    """
    if prior is None:
        prior = NormalInverseGamma()
    if not isinstance(prior, NormalInverseGamma):
        raise ValueError(f"fit_conjugate needs a NormalInverseGamma prior, got {type(prior).__name__}")
    source = model_stats(X, y, stats=stats, intercept=intercept, who="fit_conjugate")
    suff = source.to_sufficient()
    resolved = prior.resolve(suff, source.names)
    return ConjugatePosterior(source, suff, resolved, remembered_rows(X, y))


def resume_conjugate(post, X=None, y=None, groups=None, *, stats=None, model=None, draws=None, **options) -> Posterior:
    """The exact sampler's ``resume`` hook: ``draws`` more iid draws per chain from the same posterior."""
    if draws is None:
        raise ValueError("the exact sampler's runs are always complete; pass draws=N to add N draws per chain")
    source = model_stats(X, y, stats=stats, intercept=bool(post.attrs.get("intercept", True)), who="resume")
    cp = ConjugatePosterior(source, source.to_sufficient(), post.attrs["prior"], remembered_rows(X, y))
    return cp.resume(post, draws=draws)
