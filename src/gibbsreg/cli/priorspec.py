"""Priors from the command line: ``--prior semiconjugate --scale 10 --a 2 --b 1``, ``--tau halfcauchy:1``,
or the same keys in a JSON or TOML file (``--prior-file``); flags override the file."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import DataError, UsageError
from .tables import check_readable

FLAT_PRIORS = {"semiconjugate": "SemiConjugate", "nig": "NormalInverseGamma",
               "conjugate": "NormalInverseGamma", "normalinversegamma": "NormalInverseGamma",
               "exchangeable": "Exchangeable"}
KEYS = ("prior", "mean", "scale", "a", "b", "tau", "mu_scale", "group_variance")


def _numbers(value, key):
    """A number or a list of numbers, from a string "1,2,inf", a number or a list."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    items = value.split(",") if isinstance(value, str) else value
    try:
        numbers = [float(v) for v in items]
    except (TypeError, ValueError):
        raise UsageError(f"--{key.replace('_', '-')} takes a number or comma-separated numbers, got {value!r}") from None
    return numbers[0] if len(numbers) == 1 else numbers


def parse_tau(spec):
    """``halfcauchy:S``, ``invgamma:A,B`` or ``invwishart:DF[,SCALE]`` (or a dict {kind: args}) -> a prior."""
    from .. import HalfCauchy, InvGamma, InvWishart

    if spec is None:
        return None
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise UsageError(f"tau must name one family, e.g. {{\"halfcauchy\": 1}}; got {spec!r}")
        kind, args = next(iter(spec.items()))
        args = args if isinstance(args, list) else [args]
    else:
        kind, _, rest = str(spec).partition(":")
        args = [a for a in rest.split(",") if a.strip()]
    kind = kind.strip().lower().replace("-", "").replace("_", "")
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise UsageError(f"--tau {spec!r}: the parameters must be numbers") from None
    forms = {"halfcauchy": (HalfCauchy, (1,), "halfcauchy:SCALE"),
             "invgamma": (InvGamma, (2,), "invgamma:A,B"),
             "invwishart": (InvWishart, (1, 2), "invwishart:DF[,SCALE]")}
    if kind not in forms:
        raise UsageError(f"--tau {spec!r}: unknown family {kind!r}; use halfcauchy:SCALE, invgamma:A,B "
                         "or invwishart:DF[,SCALE]")
    cls, counts, form = forms[kind]
    if len(values) not in counts:
        raise UsageError(f"--tau {spec!r}: expected {form}")
    try:
        return cls(*values)
    except ValueError as err:
        raise UsageError(f"--tau {spec!r}: {err}") from None


def read_prior_file(path: str) -> dict:
    """The prior keys of a .json or .toml file (keys: prior, mean, scale, a, b, tau, mu_scale, group_variance)."""
    check_readable(path, "prior file")
    text = Path(path).read_text()
    try:
        if path.lower().endswith(".toml"):
            try:
                import tomllib
            except ImportError:  # Python 3.10
                raise UsageError("TOML prior files need Python 3.11 or newer; use a JSON file") from None
            spec = tomllib.loads(text)
        else:
            spec = json.loads(text)
    except UsageError:
        raise
    except Exception as err:  # json.JSONDecodeError, tomllib.TOMLDecodeError
        raise DataError(f"prior file {path!r} is not valid {'TOML' if path.lower().endswith('.toml') else 'JSON'}: {err}") from None
    if not isinstance(spec, dict):
        raise DataError(f"prior file {path!r} must hold a table/object of prior settings")
    unknown = sorted(set(spec) - set(KEYS))
    if unknown:
        raise UsageError(f"prior file {path!r}: unknown key(s) {unknown}; known keys are {list(KEYS)}")
    return spec


def prior_settings(args) -> dict:
    """The prior keys from ``--prior-file`` overridden by the flags that were given."""
    spec = read_prior_file(args.prior_file) if getattr(args, "prior_file", None) else {}
    for key in KEYS:
        value = getattr(args, key, None)
        if value not in (None, False):
            spec[key] = value
    return spec


def build_flat_prior(spec: dict):
    """SemiConjugate / NormalInverseGamma / Exchangeable from the settings, or None for the default."""
    from .. import Exchangeable, InvGamma, NormalInverseGamma, SemiConjugate

    kind = str(spec.get("prior", "semiconjugate")).lower().replace("-", "").replace("_", "")
    if kind not in FLAT_PRIORS:
        raise UsageError(f"--prior {spec.get('prior')!r}: unknown prior; use one of {sorted(set(FLAT_PRIORS))}")
    if spec.get("group_variance"):
        raise UsageError("--group-variance needs --groups (a hierarchical model)")
    a, b = _numbers(spec.get("a"), "a"), _numbers(spec.get("b"), "b")
    if (a is None) != (b is None):
        raise UsageError("give both --a and --b (the inverse-gamma prior on sigma^2), or neither")
    try:
        if FLAT_PRIORS[kind] == "Exchangeable":
            if spec.get("mean") is not None or spec.get("scale") is not None:
                raise UsageError("the exchangeable prior learns the coefficients' mean and scale: use --mu-scale "
                                 "and --tau instead of --mean/--scale")
            tau = parse_tau(spec.get("tau"))
            return Exchangeable(mu_scale=_numbers(spec.get("mu_scale"), "mu_scale"), tau=tau,
                                sigma=None if a is None else InvGamma(a, b))
        if spec.get("tau") is not None or spec.get("mu_scale") is not None:
            raise UsageError("--tau and --mu-scale belong to hierarchical (--groups) or exchangeable priors")
        cls = NormalInverseGamma if FLAT_PRIORS[kind] == "NormalInverseGamma" else SemiConjugate
        if all(spec.get(k) is None for k in ("mean", "scale", "a")) and kind == "semiconjugate":
            return None
        return cls(mean=_numbers(spec.get("mean"), "mean"), scale=_numbers(spec.get("scale"), "scale"), a=a, b=b)
    except ValueError as err:
        raise UsageError(str(err)) from None


def build_hierarchical_prior(spec: dict):
    """A HierarchicalPrior from the settings: --mean/--scale apply to mu and the pooled coefficients."""
    from .. import HierarchicalPrior, InvGamma

    kind = str(spec.get("prior", "semiconjugate")).lower()
    if kind not in ("semiconjugate", "hierarchical"):
        raise UsageError(f"--prior {spec.get('prior')!r} is a flat-model prior; with --groups the prior is hierarchical "
                         "(set --tau, --mean, --scale, --a, --b)")
    a, b = _numbers(spec.get("a"), "a"), _numbers(spec.get("b"), "b")
    if (a is None) != (b is None):
        raise UsageError("give both --a and --b (the inverse-gamma prior on sigma^2), or neither")
    mean, scale = _numbers(spec.get("mean"), "mean"), _numbers(spec.get("scale"), "scale")
    mu_scale = _numbers(spec.get("mu_scale"), "mu_scale")
    for key, value in (("mean", mean), ("scale", scale)):
        if isinstance(value, list):
            raise UsageError(f"--{key} takes one number for a hierarchical model (it applies to every mean "
                             "and pooled coefficient)")
    if isinstance(scale, float) and math.isinf(scale):
        raise UsageError("--scale inf (a flat prior) is not available for hierarchical models")
    try:
        return HierarchicalPrior(mu_mean=mean, mu_scale=mu_scale if mu_scale is not None else scale,
                                 tau=parse_tau(spec.get("tau")), sigma=None if a is None else InvGamma(a, b),
                                 pooled_mean=mean, pooled_scale=scale, group_variance=bool(spec.get("group_variance")))
    except ValueError as err:
        raise UsageError(str(err)) from None
