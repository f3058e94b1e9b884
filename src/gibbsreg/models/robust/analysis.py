"""The Student-t model's hooks for the analysis layers: its rows (Student-t pointwise log-likelihood and
replicated data), prediction and prior draws."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ...analysis.inference import gaussian_draws
from ...analysis.loglik import Rows, block_rows, check_size, design_rows
from ...sampling import no_huge_pages
from .priors import nu_prior_draws


def nu_draws(post) -> np.ndarray:
    """nu per draw (chains, draws): the learned draws, or the fixed value broadcast."""
    if "nu" in post:
        return np.asarray(post["nu"], dtype=float)
    return np.full((post.nchains, post.ndraws), float(post.prior.nu_fixed))


def t_logpdf(resid, sigma2, nu):
    """log t_nu(resid; 0, sigma^2), broadcasting."""
    return (special.gammaln(0.5 * (nu + 1.0)) - special.gammaln(0.5 * nu) - 0.5 * np.log(math.pi * nu * sigma2)
            - 0.5 * (nu + 1.0) * np.log1p(resid * resid / (nu * sigma2)))


@dataclass
class StudentTRows(Rows):
    """Rows of a flat model with Student-t errors: log p(y_i | beta, sigma^2, nu) = log t_nu(y_i - x_i'beta;
    0, sigma^2), and replicates x_i'beta + sigma t_nu, in blocks of rows (NumPy; the size checked first)."""

    def _params(self, post):
        S = post.nchains * post.ndraws
        beta = np.asarray(post["beta"], dtype=float).reshape(S, -1)
        sigma2 = np.asarray(post["sigma2"], dtype=float).reshape(S, 1)
        return beta, sigma2, nu_draws(post).reshape(S, 1)

    def loglik(self, post, *, by="obs", backend="numba", max_bytes=None):
        if by != "obs":
            raise ValueError("by='group' (leave-one-group-out) needs a hierarchical posterior")
        check_size("log-likelihood", post.nchains, post.ndraws, self.n, max_bytes)
        beta, sigma2, nu = self._params(post)
        with no_huge_pages():
            out = np.empty((beta.shape[0], self.n))
        step = block_rows(beta.shape[0], self.n)
        for start in range(0, self.n, step):
            sl = slice(start, min(self.n, start + step))
            resid = self.y[sl] - beta @ self.full(sl).T
            out[:, sl] = t_logpdf(resid, sigma2, nu)
        return out.reshape(post.nchains, post.ndraws, self.n)

    def replicate(self, post, *, seed=None, backend="numba", max_bytes=None):
        """y_rep (chains, draws, n); chain c's noise from SeedSequence(seed).spawn(chains)[c], rows in blocks whose
        size depends on the draws only, so chain c's replicates do not depend on the number of chains."""
        C, D = post.nchains, post.ndraws
        check_size("posterior predictive", C, D, self.n, max_bytes)
        beta, sigma2, nu = self._params(post)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        gens = [np.random.default_rng(s) for s in ss.spawn(C)]
        with no_huge_pages():
            out = np.empty((C * D, self.n))
        step = block_rows(D, self.n)
        for start in range(0, self.n, step):
            sl = slice(start, min(self.n, start + step))
            mean = beta @ self.full(sl).T
            for c, g in enumerate(gens):
                d = slice(c * D, (c + 1) * D)
                noise = g.standard_t(np.broadcast_to(nu[d], (D, sl.stop - sl.start)))
                out[d, sl] = mean[d] + np.sqrt(sigma2[d]) * noise
        return out.reshape(C, D, self.n)

    def group_loglik(self, post, *, max_bytes=None):
        raise ValueError("the marginal group log-likelihood needs a hierarchical posterior")


def rows(post, X=None, y=None, groups=None):
    """The rows as StudentTRows (explicit X, y or the remembered data); ``groups`` is not used."""
    base = design_rows(post, X, y, grouped=False)
    return StudentTRows(**vars(base))


def predict(post, full: np.ndarray, groups, rng):
    """x'beta (chains, draws, m) and a noise variance sigma^2 / w per draw and row, w ~ Gamma(nu/2, rate nu/2):
    Gaussian noise of that variance is t_nu(0, sigma^2) noise, so the generic predictive draws are exact."""
    line = np.einsum("cdp,mp->cdm", post["beta"], full)
    nu = nu_draws(post)[..., None]
    w = rng.standard_gamma(np.broadcast_to(0.5 * nu, line.shape)) / (0.5 * nu)
    return line, post["sigma2"][..., None] / w


def prior_draws(post, draws: int, rng):
    """beta ~ N(m0, S0), sigma2 ~ IG(a, b), nu ~ its Gamma prior; None when improper (a flat coefficient, or
    sigma's Jeffreys prior)."""
    prior = post.prior
    if prior.jeffreys or np.asarray(prior.flat).any():
        return None
    sigma2 = prior.b / rng.standard_gamma(prior.a, draws)
    beta = gaussian_draws(rng, prior.mean, prior.precision, draws)
    out = {"beta": beta, "sigma2": sigma2}
    if prior.learn_nu:
        out["nu"] = nu_prior_draws(prior, rng, draws)
    return out
