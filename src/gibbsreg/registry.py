"""The registry of model kinds: what each model supplies so that the generic layers never switch on a kind.

A model is a subpackage of :mod:`gibbsreg.models` that, on import, calls :func:`register` with a
:class:`ModelKind`.  The run driver, ``resume``, ``load``, prediction, the pointwise log-likelihood,
the ArviZ export and the CLI look the kind up here by the name a run records (``attrs["model_kind"]``
for draws, ``state.kind`` for a resumable state).  This module imports nothing of gibbsreg, so any
layer may ask it; ``gibbsreg/__init__`` imports :mod:`gibbsreg.models`, which fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

_KINDS: dict[str, "ModelKind"] = {}
_ENCODERS: dict[str, Callable] = {}


@dataclass(frozen=True)
class FrontEnd:
    """How the formula front end and the command line reach a kind (docs/architecture.md, "Front ends").

    family
        The response family the kind models (``"gaussian"``, ``"bernoulli"``, ``"binomial"``, ...).
    factors
        ``(fewest, most)`` grouping factors the kind takes (``most`` None: any number).  :func:`select`
        picks, among the kinds of a family that take a given number of factors, the narrowest range.
    formula
        ``formula(design, prior, **options) -> Bound``: the model for a formula design (``design.X`` a
        DataFrame without the intercept column, ``design.y``, ``design.factors``, ``design.intercept``,
        ``design.names``), with the attributes and defaults its Posterior should record.
    prior
        ``prior(spec) -> prior | None``: the kind's prior from the command line's prior keys (``spec``: prior,
        mean, scale, tau, mu_scale, group_variance, nu, and sigma, the noise prior that --a/--b also spell;
        already parsed into numbers, lists and priors; a missing key is absent); None for the kind's
        defaults; a ValueError names a key it does not take.
    build
        ``build(prior, *, factors, varying, intercept, **options) -> model``: the model for named columns (the
        command line's ``--groups``, ``--varying``, ``--no-intercept``, and the kind's ``options`` it was given,
        e.g. ``--link``).
    options
        The keyword options ``gibbsreg.model(formula, data, **options)`` passes to ``formula``.
    """

    family: str = "gaussian"
    factors: tuple = (0, 0)
    formula: Callable | None = None
    prior: Callable | None = None
    build: Callable | None = None
    options: tuple = ()

    def takes(self, factors: int) -> bool:
        low, high = self.factors
        return factors >= low and (high is None or factors <= high)

    @property
    def grouped(self) -> bool:
        """Whether the model's ``sample`` takes group labels (its third argument)."""
        return self.factors[1] != 0

    def call(self, model, X, y, groups, **options):
        """``model.sample`` with the rows this kind takes: (X, y) or (X, y, groups)."""
        if self.grouped:
            return model.sample(X, y, groups, **options)
        return model.sample(X, y, **options)


@dataclass(frozen=True)
class Bound:
    """A model built by a front end, with the attributes and the defaults its Posterior records
    (``attrs`` merged into ``post.attrs``; ``defaults`` appended to the resolved prior's defaults)."""

    model: object
    attrs: dict = field(default_factory=dict)
    defaults: tuple = ()


@dataclass(frozen=True)
class ModelKind:
    """What one model kind plugs into the engine (docs/architecture.md, "The model protocol").

    name
        The kind a run records (``Posterior.attrs["model_kind"]``, ``RunState.kind``).
    model
        The user-facing class (``LinearRegression``, ...; ``gibbsreg.resume(..., model=)`` must be one):
        ``sample`` builds its statistics from
        :mod:`gibbsreg.io`, resolves its prior, and hands a :class:`gibbsreg.runner.ChainSpec` (named
        initial state, kernel step and NumPy twin, outputs with dims) to the one driver.
    needs
        What the sweep reads: statistics, ``"flat"`` (X'X, X'y, y'y), ``"grouped"`` (the same per group) or
        ``"cells"`` (per combination of factor levels), or ``"rows"`` (the rows themselves, every sweep).
    data
        How the rows are passed back (``"X, y"`` or ``"X, y, groups"``), for messages.
    resume
        ``resume(post, X, y, groups, *, stats, model, **options) -> Posterior``: continue a run (from
        :func:`gibbsreg.resume`) with the model rebuilt from the run's saved settings when ``model`` is None.
    priors
        The resolved prior classes a run stores in ``attrs["prior"]`` (saved by ``to_dict``, read back
        by ``from_dict`` in :func:`gibbsreg.load`).
    rows
        ``rows(post, X, y, groups) -> RowData``: the rows a posterior's likelihood is evaluated on
        (explicit, or the data the Posterior remembers), with the pointwise log-likelihood and the
        replicated data: the interface of :class:`gibbsreg.analysis.loglik.Rows`.
    predict
        ``predict(post, rows, groups, rng) -> (line, sigma2)``: the regression function (chains, draws, m)
        at full design rows (m, p) and the noise variance broadcastable to it, seen and new groups.
    prior_draws
        ``prior_draws(post, draws, rng) -> dict | None``: draws from the resolved prior, or None when it is
        improper or not available.
    front
        A :class:`FrontEnd`: how formulas and the command line reach the kind (None: from Python only).
    fronts
        More front ends of the same kind, for other families it also fits (the binary kinds' ``"binomial"``
        with its trials); :func:`select` hands back the kind with the matching one as ``front``.
    """

    name: str
    model: type
    needs: str
    data: str
    resume: Callable
    priors: tuple = ()
    rows: Callable | None = None
    predict: Callable | None = None
    prior_draws: Callable | None = None
    front: FrontEnd | None = None
    fronts: tuple = ()


def _front_ends(kind: ModelKind) -> list:
    return ([kind.front] if kind.front is not None else []) + list(kind.fronts)


def register(kind: ModelKind) -> ModelKind:
    """Add a model kind (a model subpackage calls this once, on import)."""
    if not isinstance(kind, ModelKind):
        raise TypeError(f"register needs a ModelKind, got {type(kind).__name__}")
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"a model kind named {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def kinds() -> list[str]:
    """The registered kinds' names."""
    return list(_KINDS)


def get(name: str) -> ModelKind:
    """The kind registered as ``name``; a ValueError lists the known ones."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"no model kind {name!r} is registered (known: {', '.join(_KINDS)})") from None


def families() -> list[str]:
    """The response families some registered kind reaches from a formula or the command line."""
    return sorted({fe.family for k in _KINDS.values() for fe in _front_ends(k)})


def select(family: str, factors: int) -> ModelKind:
    """The kind a formula or the command line means: of ``family``, taking ``factors`` grouping factors
    (the narrowest range of factors wins: one factor is the hierarchical model, not the crossed one)."""
    known = families()
    if family not in known:
        raise ValueError(f"unknown family {family!r}; the registered models fit {', '.join(known)}")
    fits = [(k, fe) for k in _KINDS.values() for fe in _front_ends(k) if fe.family == family and fe.takes(factors)]
    if not fits:
        takes = sorted(fe.factors for k in _KINDS.values() for fe in _front_ends(k) if fe.family == family)
        ranges = ", ".join(f"{lo}" if lo == hi else f"{lo} or more" if hi is None else f"{lo}-{hi}"
                           for lo, hi in takes)
        raise ValueError(f"no {family} model takes {factors} grouping factor{'s' * (factors != 1)} "
                         f"(the {family} models take {ranges})")

    def width(fit):
        low, high = fit[1].factors
        return (float("inf") if high is None else high - low), fit[0].name

    kind, front = min(fits, key=width)
    return kind if front is kind.front else replace(kind, front=front)


def of_posterior(post) -> ModelKind:
    """The kind that made a Posterior (its ``attrs["model_kind"]``)."""
    name = post.attrs.get("model_kind")
    if name is None:
        raise ValueError("this Posterior does not record which model made it (attrs['model_kind']), so it "
                         "cannot predict or evaluate its likelihood")
    return get(name)


def prior_class(name: str) -> type:
    """A resolved prior class by its name, among every registered kind's priors (for ``load``)."""
    for kind in _KINDS.values():
        for cls in kind.priors:
            if cls.__name__ == name:
                return cls
    raise ValueError(f"unknown saved prior type {name!r}")


def register_encoder(name: str, encode: Callable) -> None:
    """A front end's encoder of new data, ``encode(spec, data) -> (X_new, groups)``, under the attribute name a
    posterior records its spec in (``"formula"``: gibbsreg.formula, for ``Posterior.predict(newdata=...)``)."""
    _ENCODERS[name] = encode


def encoder(name: str) -> Callable:
    try:
        return _ENCODERS[name]
    except KeyError:
        raise ValueError(f"no front end {name!r} is loaded to encode new data") from None
