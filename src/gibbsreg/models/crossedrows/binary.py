"""Crossed and nested random effects for binary and binomial outcomes: CrossedBinaryRegression (kind
"binary_crossed").

y_i ~ Binomial(n_i, F(eta_i)), eta_i = x_i' (fixed + sum_f E_f b_f[g_f(i)]), F the logistic function or Phi;
the factors, their priors and the population coefficients are the Gaussian crossed model's (CrossedRegression,
docs/maths.md "Several grouping factors").  Sampled by the Gaussian crossed sweep given Polya-Gamma (logit) or
truncated-normal (probit) latents, redrawn every sweep (kernels/crossedrows; docs/crossed-rows.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np

from ..binary.analysis import BinaryRows, probabilities
from ..binary.data import BinaryData, binary_data
from ..binary.model import LINKS
from ..crossed.predict import predict_crossed
from ..crossed.priors import ResolvedCrossedPrior, resolve_crossed_prior
from ..crossed.rows import _mean_block, crossed_rows
from .model import RowsCrossedModel, method_text
from .priordraws import crossed_prior_draws


class ResolvedCrossedBinaryPrior(ResolvedCrossedPrior):
    """The crossed prior of a binary model: the population coefficients and the factors' scales (no sigma)."""

    kind = "CrossedBinaryPrior"

    def __str__(self) -> str:
        lines = super().__str__().splitlines()[:-1]  # the last line is sigma's: a binary model has none
        lines[0] = lines[0].replace("CrossedPrior", "CrossedBinaryPrior", 1)
        return "\n".join(lines)


def binary_defaults(data: BinaryData):
    """Statistics whose data-scaled crossed defaults are the binary ones (the latent scale, a response of mean
    0 and variance 1): N(0, 2.5^2) on the intercept, N(0, (2.5 / sd(x_k))^2) on slopes, half-Cauchy(1) and
    half-Cauchy(1 / sd(x_k)) on the factors' scales (as HierarchicalBinaryPrior)."""
    k = int(data.intercept)
    x = data.full[:, k:]
    sd = x.std(axis=0) if data.n > 1 else np.ones(x.shape[1])
    sd = np.where(sd > 0, sd, 1.0)
    return SimpleNamespace(y_var=1.0, y_mean=0.0, x_sd=sd, x_mean=np.zeros(x.shape[1]),
                           transform=SimpleNamespace(scale=np.ones(x.shape[1]), intercept=bool(k)))


@dataclass
class CrossedBinaryData:
    """The rows a crossed binary posterior remembers: the validated rows and their (n, K) level codes."""

    data: BinaryData
    codes: np.ndarray


class CrossedBinaryRegression(RowsCrossedModel):
    """Probit or logistic regression with several grouping factors (crossed or nested), by Gibbs with data
    augmentation.  ``factors``, ``prior`` (a CrossedPrior without sigma), ``intercept`` and ``sampler`` as
    CrossedRegression's; ``link`` "logit" (Polya-Gamma) or "probit" (Albert-Chib).  ``sample(X, y, groups,
    trials=None, ...)``: y 0/1 (Bernoulli) or success counts of ``trials``; returns the crossed model's
    variables (b_<factor>, tau2_<factor> or Sigma_<factor>, mu, alpha) without sigma2.  Defaults scaled to the
    predictors (:func:`binary_defaults`).  Each sweep redraws a latent per trial and rebuilds the cells'
    weighted statistics: O(n p^2) per sweep (logit; O(n p) probit)."""

    KIND = "binary_crossed"

    def __init__(self, factors, link: str = "logit", prior=None, intercept: bool = True, sampler: str = "asis"):
        if link not in LINKS:
            raise ValueError(f"CrossedBinaryRegression: link must be 'logit' or 'probit', got {link!r}")
        super().__init__(factors, prior, intercept, sampler)
        if self.prior.sigma is not None:
            raise ValueError("CrossedBinaryRegression: a prior on sigma does not apply to a binary model (it has no "
                             "noise scale)")
        self.link = link

    def _family_rows(self, X, y, trials):
        data = binary_data(X, y, trials, self.intercept)
        n = data.n
        return {"F": data.full, "names": list(data.names), "family": LINKS[self.link],
                "ref": np.zeros(data.full.shape[1]),
                "y": data.y, "trials": data.trials, "u": np.zeros(n), "w": np.ones(n), "binary": data,
                "name": "bernoulli" if data.bernoulli else "binomial", "fixed": ("sigma2",),
                "nu_start": lambda streams: np.zeros(len(streams.normal))}

    def _resolve(self, fam, vidx):
        base = resolve_crossed_prior(self.prior, self.factors, binary_defaults(fam["binary"]), fam["names"], vidx)
        base.defaults = [d for d in base.defaults if d != "sigma"]
        prior = ResolvedCrossedBinaryPrior(**vars(base))
        return prior, prior

    def _finish(self, spec, problem, prior, seed):
        fam_name = "bernoulli" if (problem.trials == 1).all() else "binomial"
        variables = {k: v for k, v in spec.variables.items() if k != "sigma2"}
        kinds = ", ".join(f"{f['name']}: {f['tau_kind']}" for f in prior.factors)
        attrs = dict(spec.attrs, link=self.link, family=fam_name,
                     model=f"CrossedBinaryRegression ({fam_name}, {self.link}; {kinds}; "
                           f"{method_text(problem, self.factors, self.sampler)})")
        config = dict(spec.config, link=self.link)
        return replace(spec, variables=variables, attrs=attrs, config=config)

    def _remember(self, fam, codes):
        return CrossedBinaryData(fam["binary"], codes)

    def sample(self, X, y, groups, trials=None, *, chains: int = 4, draws: int = 1000, warmup: int = 1000,
               thin: int = 1, seed=None, backend: str = "numba", progress: bool = True, until=None, checkpoint=None,
               checkpoint_every: float = 60.0, store=None):
        """Gibbs sampling (the class docstring); resume with ``model.resume(post, X, y, groups, trials)``."""
        return self._sample(X, y, groups, trials, chains=chains, draws=draws, warmup=warmup, thin=thin, seed=seed,
                            backend=backend, progress=progress, until=until, checkpoint=checkpoint,
                            checkpoint_every=checkpoint_every, store=store, who="CrossedBinaryRegression.sample")

    def resume(self, post, X, y, groups, trials=None, *, draws: int | None = None, until=None, checkpoint=None,
               checkpoint_every: float = 60.0, store=None, backend: str | None = None, progress: bool = True):
        """Continue the run that made ``post`` (same rows, factors and prior): bit for bit an uninterrupted run."""
        return self._resume(post, X, y, groups, trials, draws=draws, until=until, checkpoint=checkpoint,
                            checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                            who="CrossedBinaryRegression.resume")


# ---------------------------------------------------------------------------------------------
# the analysis hooks


class CrossedBinaryRows(BinaryRows):
    """The rows of a crossed binary posterior: BinaryRows' Bernoulli/binomial log-likelihood and replicates,
    with eta from every factor's effects (``cell_codes`` (n, K) each row's levels)."""

    def __init__(self, data: BinaryData, link: str, codes: np.ndarray):
        super().__init__(data, link)
        self.cell_codes = codes

    def _eta(self, post, sl, chain=None):
        eta = _mean_block(post, self.data.full[sl], self.cell_codes[sl])
        if chain is None:
            return eta
        return eta.reshape(post.nchains, post.ndraws, -1)[chain]

    def labels(self, post) -> dict:
        out = {} if self.data.bernoulli else {"trials": self.data.trials}
        out.update({f"{name}_label": np.asarray(post.coords[f"{name}_level"])[self.cell_codes[:, f]]
                    for f, name in enumerate(post.attrs["factors"])})
        return out

    def loglik(self, post, *, by="obs", backend="numba", max_bytes=None):
        if by != "obs":
            raise ValueError("the crossed binary model has the pointwise log-likelihood (by='obs') only")
        return super().loglik(post, by="obs", backend=backend, max_bytes=max_bytes)


def rows(post, X=None, y=None, groups=None):
    """The rows of a crossed binary posterior: explicit ``X, y, groups`` ({factor: labels}; Bernoulli) or the
    data it was sampled from."""
    link = post.attrs.get("link", "logit")
    if X is None and y is None:
        kept = getattr(post, "data", None)
        if kept is None:
            raise ValueError("this Posterior does not hold the data it was sampled from: pass X=, y=, groups=")
        return CrossedBinaryRows(kept.data, link, kept.codes)
    if X is None or y is None or groups is None:
        raise ValueError("pass X=, y= and groups={factor: labels} together (or none, to use the remembered data)")
    data = binary_data(X, y, None, bool(post.attrs["intercept"]))
    codes = crossed_rows(post, X, np.asarray(data.y, dtype=float), groups).codes
    return CrossedBinaryRows(data, link, codes)


class _UnitNoise:
    """A posterior seen with sigma2 = 1 (predict_crossed reads it; a binary model has none)."""

    def __init__(self, post):
        self._post = post
        self.attrs, self.coords, self.nchains, self.ndraws = post.attrs, post.coords, post.nchains, post.ndraws

    def __getitem__(self, name):
        return np.ones((self.nchains, self.ndraws)) if name == "sigma2" else self._post[name]

    def __contains__(self, name):
        return name in self._post


def predict(post, full, groups, rng):
    """P(y = 1 | x, theta) per draw at rows ``full`` (a new level: effects drawn from its factor's prior per
    draw, as the Gaussian crossed model), and one Bernoulli replicate per draw."""
    line, _ = predict_crossed(_UnitNoise(post), full, groups, rng)
    return probabilities(line, post.attrs.get("link", "logit")), lambda p, rng: rng.binomial(1, p).astype(float)


def prior_draws(post, draws: int, rng):
    """The population coefficients, the factors' scales or covariances and their effects from the prior."""
    return crossed_prior_draws(post, post.prior, draws, rng)


def resume(post, X=None, y=None, groups=None, *, stats=None, model=None, trials=None, **options):
    """The binary_crossed kind's ``resume`` hook (the factors are not saved with the run: pass the model)."""
    if stats is not None:
        raise ValueError("the crossed binary model reads the rows every sweep: resume it with X, y, groups")
    if model is None:
        raise ValueError("resuming a CrossedBinaryRegression run needs its model: resume(source, X, y, groups, "
                         "model=CrossedBinaryRegression([...factors...], link=...))")
    return model.resume(post, X, y, groups, trials, **options)
