"""Crossed and nested random effects with Student-t errors: CrossedStudentTRegression (kind "robust_crossed").

y_i = x_i' (fixed + sum_f E_f b_f[g_f(i)]) + e_i, e_i ~ t_nu(0, sigma^2), as the scale mixture
e_i | w_i ~ N(0, sigma^2 / w_i), w_i ~ Gamma(nu/2, rate nu/2); the factors, their priors, the population
coefficients and sigma's priors are the Gaussian crossed model's, nu fixed or learned as the flat Student-t
model's (kernels/robust/nu.py).  Each sweep redraws the n weights and rebuilds the cells' weighted statistics:
O(n p^2) per sweep (docs/crossed-rows.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ...data import as_design
from ...io.api import memory_stats, remembered_rows
from ...kernels.crossedrows.chains import STUDENT
from ...priors import scale2_draws
from ..crossed.predict import predict_crossed
from ..crossed.priors import ResolvedCrossedPrior, resolve_crossed_prior
from ..crossed.rows import CrossedRows, _blocks, crossed_rows
from ..robust.analysis import nu_draws, t_logpdf
from ..robust.model import NU_START
from ..robust.priors import DEFAULT_NU_RATE, DEFAULT_NU_SHAPE, check_nu
from .model import RowsCrossedModel, method_text
from .priordraws import crossed_prior_draws


@dataclass
class ResolvedCrossedStudentT:
    """The crossed Student-t prior: ``crossed`` (the Gaussian crossed model's, sigma's included) and nu,
    ``nu_fixed`` or Gamma(``nu_shape``, ``nu_rate``)."""

    crossed: ResolvedCrossedPrior
    nu_fixed: float | None = None
    nu_shape: float = DEFAULT_NU_SHAPE
    nu_rate: float = DEFAULT_NU_RATE
    defaults: list = field(default_factory=list)

    kind = "CrossedStudentT"

    @property
    def learn_nu(self) -> bool:
        return self.nu_fixed is None

    @property
    def factors(self):
        return self.crossed.factors

    def to_dict(self) -> dict:
        return {"crossed": self.crossed.to_dict(), "nu_fixed": self.nu_fixed, "nu_shape": self.nu_shape,
                "nu_rate": self.nu_rate, "defaults": list(self.defaults)}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedCrossedStudentT":
        nu_fixed = None if d["nu_fixed"] is None else float(d["nu_fixed"])
        return cls(ResolvedCrossedPrior.from_dict(d["crossed"]), nu_fixed,
                   float(d["nu_shape"]), float(d["nu_rate"]), list(d.get("defaults", [])))

    def __str__(self) -> str:
        lines = str(self.crossed).splitlines()
        lines[0] = lines[0].replace("CrossedPrior", "CrossedPrior with Student-t errors", 1)
        lines.append(f"  nu = {self.nu_fixed:g} (fixed)" if self.nu_fixed is not None
                     else f"  nu ~ Gamma({self.nu_shape:g}, rate {self.nu_rate:g})")
        return "\n".join(lines)


class CrossedStudentTRegression(RowsCrossedModel):
    """Linear regression with several grouping factors (crossed or nested) and Student-t errors, by Gibbs.
    ``factors``, ``prior`` (a CrossedPrior: population coefficients and sigma, every prior on sigma the Gaussian
    crossed model takes), ``intercept`` and ``sampler`` as CrossedRegression's; ``nu`` a positive number (fixed)
    or a Gamma prior (learned; None: Gamma(2, 0.1)).  ``sample(X, y, groups, ...)`` returns the crossed model's
    variables and, when learned, nu."""

    KIND = "robust_crossed"

    def __init__(self, factors, nu=None, prior=None, intercept: bool = True, sampler: str = "asis"):
        self.nu_fixed, self.nu_prior = check_nu(nu)
        super().__init__(factors, prior, intercept, sampler)
        self.nu = nu

    def _family_rows(self, X, y, trials):
        if trials is not None:
            raise ValueError("CrossedStudentTRegression takes no trials")
        design = as_design(X, y, self.intercept)
        suff = memory_stats(X, y, intercept=self.intercept).to_sufficient()
        learn = self.nu_fixed is None
        shape = DEFAULT_NU_SHAPE if self.nu_prior is None else self.nu_prior.shape
        rate = DEFAULT_NU_RATE if self.nu_prior is None else self.nu_prior.rate

        def nu_start(streams):  # a learned nu starts at a prior draw clipped to NU_START (the flat model's)
            if not learn:
                return np.full(len(streams.normal), float(self.nu_fixed))
            return np.array([min(max(g.standard_gamma(shape) / rate, NU_START[0]), NU_START[1])
                             for g in streams.init])

        n = design.n
        return {"F": design.full_matrix(), "names": list(design.names), "family": STUDENT,
                "ref": suff.transform.beta_ref, "y": np.zeros(n), "trials": np.zeros(n), "u": design.y,
                "w": np.ones(n), "stats": suff, "name": "student", "nu": (learn, shape, rate), "nu_start": nu_start,
                "X": X, "yv": y}

    def _resolve(self, fam, vidx):
        base = resolve_crossed_prior(self.prior, self.factors, fam["stats"], fam["names"], vidx)
        learn, shape, rate = fam["nu"]
        record = ResolvedCrossedStudentT(base, None if learn else float(self.nu_fixed), shape, rate,
                                         list(base.defaults) + (["nu"] if self.nu is None else []))
        return record, base

    def _finish(self, spec, problem, prior, seed):
        variables = dict(spec.variables)
        if prior.learn_nu:
            variables["nu"] = ((), [])
        kinds = ", ".join(f"{f['name']}: {f['tau_kind']}" for f in prior.factors)
        nu_text = "learned" if prior.learn_nu else f"{prior.nu_fixed:g}"
        attrs = dict(spec.attrs, nu=None if prior.learn_nu else float(prior.nu_fixed),
                     model=f"CrossedStudentTRegression (nu {nu_text}; {kinds}; "
                           f"{method_text(problem, self.factors, self.sampler)})")
        return replace(spec, variables=variables, attrs=attrs)

    def _remember(self, fam, codes):
        return remembered_rows(fam["X"], fam["yv"], codes=codes)

    def sample(self, X, y, groups, *, chains: int = 4, draws: int = 1000, warmup: int = 1000, thin: int = 1,
               seed=None, backend: str = "numba", progress: bool = True, until=None, checkpoint=None,
               checkpoint_every: float = 60.0, store=None):
        """Gibbs sampling (the class docstring); resume with ``model.resume(post, X, y, groups)``."""
        return self._sample(X, y, groups, None, chains=chains, draws=draws, warmup=warmup, thin=thin, seed=seed,
                            backend=backend, progress=progress, until=until, checkpoint=checkpoint,
                            checkpoint_every=checkpoint_every, store=store, who="CrossedStudentTRegression.sample")

    def resume(self, post, X, y, groups, *, draws: int | None = None, until=None, checkpoint=None,
               checkpoint_every: float = 60.0, store=None, backend: str | None = None, progress: bool = True):
        """Continue the run that made ``post`` (same rows, factors and prior): bit for bit an uninterrupted run."""
        return self._resume(post, X, y, groups, None, draws=draws, until=until, checkpoint=checkpoint,
                            checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                            who="CrossedStudentTRegression.resume")


# ---------------------------------------------------------------------------------------------
# the analysis hooks


class CrossedStudentTRows(CrossedRows):
    """The crossed model's rows with the Student-t pointwise log-likelihood and replicates."""

    def loglik(self, post, *, by="obs", backend="numba", max_bytes=None):
        if by != "obs":
            raise ValueError("the crossed Student-t model has the pointwise log-likelihood (by='obs') only")
        from ...analysis.loglik import check_size

        C, D = post.nchains, post.ndraws
        check_size("log-likelihood", C, D, self.n, max_bytes)
        sigma2 = np.asarray(post["sigma2"], dtype=float).reshape(C * D, 1)
        nu = nu_draws(post).reshape(C * D, 1)
        out = np.empty((C * D, self.n))
        for sl, mean in _blocks(post, self.X, self.codes, self.intercept):
            out[:, sl] = t_logpdf(self.y[sl] - mean, sigma2, nu)
        return out.reshape(C, D, self.n)

    def replicate(self, post, *, seed=None, backend="numba", max_bytes=None):
        """y_rep (chains, draws, n): mean + sigma t_nu, chain c's noise from SeedSequence(seed).spawn(chains)[c]."""
        from ...analysis.loglik import check_size

        C, D = post.nchains, post.ndraws
        check_size("posterior predictive", C, D, self.n, max_bytes)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        gens = [np.random.default_rng(s) for s in ss.spawn(C)]
        sd = np.sqrt(np.asarray(post["sigma2"], dtype=float).reshape(C * D, 1))
        nu = nu_draws(post).reshape(C * D, 1)
        out = np.empty((C * D, self.n))
        for sl, mean in _blocks(post, self.X, self.codes, self.intercept):
            m = sl.stop - sl.start
            for c, g in enumerate(gens):
                d = slice(c * D, (c + 1) * D)
                out[d, sl] = mean[d] + sd[d] * g.standard_t(np.broadcast_to(nu[d], (D, m)))
        return out.reshape(C, D, self.n)


def rows(post, X=None, y=None, groups=None):
    """The rows of a crossed Student-t posterior (explicit X, y, groups or the remembered data)."""
    base = crossed_rows(post, X, y, groups)
    return CrossedStudentTRows(base.X, base.y, base.codes, base.intercept)


def predict(post, full, groups, rng):
    """The regression function per draw and a noise variance sigma^2 / w per draw and row, w ~ Gamma(nu/2, nu/2):
    Gaussian noise of that variance is t_nu(0, sigma^2) noise (as the flat Student-t model)."""
    line, s2 = predict_crossed(post, full, groups, rng)
    nu = nu_draws(post)[..., None]
    w = rng.standard_gamma(np.broadcast_to(0.5 * nu, line.shape)) / (0.5 * nu)
    return line, s2 / w


def prior_draws(post, draws: int, rng):
    """The crossed model's prior draws, sigma^2 from its prior (IG on sigma^2, or a scale prior on sigma) and nu
    from its Gamma prior when learned."""
    prior = post.prior
    out = crossed_prior_draws(post, prior.crossed, draws, rng)
    if out is None:
        return None
    noise = prior.crossed.sigma
    if not noise:
        out["sigma2"] = prior.crossed.sigma_b / rng.standard_gamma(prior.crossed.sigma_a, draws)
    else:
        out["sigma2"] = scale2_draws(rng, noise["sigma_kind"], noise.get("sigma_scale"), noise.get("sigma_nu"),
                                     noise.get("sigma_rate"), draws, 1)[:, 0]
    if prior.learn_nu:
        out["nu"] = rng.standard_gamma(prior.nu_shape, draws) / prior.nu_rate
    return out


def resume(post, X=None, y=None, groups=None, *, stats=None, model=None, **options):
    """The robust_crossed kind's ``resume`` hook (the factors are not saved with the run: pass the model)."""
    if stats is not None:
        raise ValueError("the crossed Student-t model reads the rows every sweep: resume it with X, y, groups")
    if model is None:
        raise ValueError("resuming a CrossedStudentTRegression run needs its model: resume(source, X, y, groups, "
                         "model=CrossedStudentTRegression([...factors...], nu=...))")
    return model.resume(post, X, y, groups, **options)
