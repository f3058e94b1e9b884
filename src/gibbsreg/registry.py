"""The registry of model kinds: what each model supplies so that the generic layers never switch on a kind.

A model is a subpackage of :mod:`gibbsreg.models` that, on import, calls :func:`register` with a
:class:`ModelKind`.  The run driver, ``resume``, ``load``, prediction, the pointwise log-likelihood,
the ArviZ export and the CLI look the kind up here by the name a run records (``attrs["model_kind"]``
for draws, ``state.kind`` for a resumable state).  This module imports nothing of gibbsreg, so any
layer may ask it; ``gibbsreg/__init__`` imports :mod:`gibbsreg.models`, which fills it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

_KINDS: dict[str, "ModelKind"] = {}
_ENCODERS: dict[str, Callable] = {}


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
        The summary of the rows the sweep reads: ``"flat"`` (X'X, X'y, y'y), ``"grouped"`` (the same per
        group) or ``"cells"`` (per combination of factor levels).
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
