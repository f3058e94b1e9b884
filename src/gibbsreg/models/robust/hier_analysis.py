"""The hierarchical Student-t model's hooks for the analysis layers: its rows (the Student-t pointwise
log-likelihood, per row or summed per group, and replicated data), prediction and prior draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import registry
from ...analysis.loglik import Rows, block_rows, check_size, design_rows
from ...sampling import no_huge_pages
from .analysis import nu_draws, t_logpdf
from .priors import nu_prior_draws


@dataclass
class StudentTHierRows(Rows):
    """Rows of a one-factor hierarchical model with Student-t errors: log t_nu(y_i - x_vi' beta_j[i] - x_pi' alpha;
    0, sigma^2) per draw and row, in blocks of rows (NumPy; the size checked first)."""

    def _params(self, post):
        S = post.nchains * post.ndraws
        beta = np.asarray(post["beta"], dtype=float).reshape(S, -1, len(self.vi))
        alpha = np.asarray(post["alpha"], dtype=float).reshape(S, -1) if self.pi else np.zeros((S, 0))
        sigma2 = np.asarray(post["sigma2"], dtype=float).reshape(S, 1)
        return beta, alpha, sigma2, nu_draws(post).reshape(S, 1)

    def _line(self, beta, alpha, sl):
        """x_vi' beta_j[i] + x_pi' alpha for the rows in ``sl``: (S, rows)."""
        Xv, Xp, _, codes = self.blocks(sl)
        return np.einsum("sia,ia->si", beta[:, codes], Xv) + alpha @ Xp.T

    def loglik(self, post, *, by="obs", backend="numba", max_bytes=None):
        if by not in ("obs", "group"):
            raise ValueError(f"by must be 'obs' or 'group', got {by!r}")
        beta, alpha, sigma2, nu = self._params(post)
        S, J = beta.shape[0], beta.shape[1]
        check_size("log-likelihood", post.nchains, post.ndraws, J if by == "group" else self.n, max_bytes)
        with no_huge_pages():
            out = np.zeros((S, J)) if by == "group" else np.empty((S, self.n))
        step = block_rows(S * max(len(self.vi), 1), self.n)
        for start in range(0, self.n, step):
            sl = slice(start, min(self.n, start + step))
            ll = t_logpdf(self.y[sl] - self._line(beta, alpha, sl), sigma2, nu)
            if by == "group":  # each group's rows summed: the conditional leave-one-group-out log-likelihood
                np.add.at(out.T, self.codes[sl], ll.T)
            else:
                out[:, sl] = ll
        return out.reshape(post.nchains, post.ndraws, -1)

    def replicate(self, post, *, seed=None, backend="numba", max_bytes=None):
        """y_rep (chains, draws, n): chain c's noise from SeedSequence(seed).spawn(chains)[c], so its replicates do
        not depend on the number of chains."""
        C, D = post.nchains, post.ndraws
        check_size("posterior predictive", C, D, self.n, max_bytes)
        beta, alpha, sigma2, nu = self._params(post)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        gens = [np.random.default_rng(s) for s in ss.spawn(C)]
        with no_huge_pages():
            out = np.empty((C * D, self.n))
        step = block_rows(D * max(len(self.vi), 1), self.n)
        for start in range(0, self.n, step):
            sl = slice(start, min(self.n, start + step))
            mean = self._line(beta, alpha, sl)
            for c, g in enumerate(gens):
                d = slice(c * D, (c + 1) * D)
                noise = g.standard_t(np.broadcast_to(nu[d], (D, sl.stop - sl.start)))
                out[d, sl] = mean[d] + np.sqrt(sigma2[d]) * noise
        return out.reshape(C, D, self.n)

    def group_loglik(self, post, *, max_bytes=None):
        raise ValueError("the marginal group log-likelihood (beta_j integrated out) is Gaussian-only: with Student-t "
                         "errors use loglik(by='group'), the conditional one")


def rows(post, X=None, y=None, groups=None):
    """The rows with each one's group, as StudentTHierRows (explicit X, y, groups or the remembered data)."""
    return StudentTHierRows(**vars(design_rows(post, X, y, groups, grouped=True)))


def predict(post, full: np.ndarray, groups, rng):
    """The Gaussian hierarchical model's line (fitted groups' beta_j, a new group's beta ~ N(mu, Sigma)) and a noise
    variance sigma^2 / w per draw and row, w ~ Gamma(nu/2, rate nu/2): t_nu(0, sigma^2) noise, exactly."""
    line, sigma2 = registry.get("hierarchical").predict(post, full, groups, rng)
    nu = nu_draws(post)[..., None]
    w = rng.standard_gamma(np.broadcast_to(0.5 * nu, line.shape)) / (0.5 * nu)
    return line, sigma2 / w


def prior_draws(post, draws: int, rng):
    """The hierarchical prior's draws (mu, the group scale, beta_j, alpha, sigma2) and nu from its Gamma prior."""
    out = registry.get("hierarchical").prior_draws(post, draws, rng)
    if post.prior.learn_nu:
        out["nu"] = nu_prior_draws(post.prior, rng, draws)
    return out
