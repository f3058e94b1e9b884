"""Priors from the command line: ``--prior semiconjugate --scale 10 --a 2 --b 1``, ``--tau halfcauchy:1``,
``--prior regularized-horseshoe --p0 20 --slab-scale 2``, or the same keys in a JSON or TOML file
(``--prior-file``); flags override the file."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import DataError, UsageError
from .tables import check_readable

KEYS = ("prior", "mean", "scale", "a", "b", "tau", "mu_scale", "group_variance", "sigma", "nu",
        "p0", "global_scale", "slab_scale", "slab_df", "lasso_shape", "lasso_rate")
SCALARS = ("p0", "global_scale", "slab_scale", "slab_df", "lasso_shape", "lasso_rate")  # the wide priors' numbers


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


def parse_tau(spec, flag: str = "--tau"):
    """A scale prior from ``family:ARGS`` (or a dict {family: args}): ``halfcauchy:S``, ``halfnormal:S``,
    ``halft:NU,S``, ``exponential:RATE``, ``invgamma:A,B``, ``invwishart:DF[,SCALE]``, ``huangwand:NU[,S]``."""
    from ..priors import (Exponential, HalfCauchy, HalfNormal, HalfStudentT, HuangWand, InvGamma, InvWishart)

    if spec is None:
        return None
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise UsageError(f"{flag[2:]} must name one family, e.g. {{\"halfcauchy\": 1}}; got {spec!r}")
        kind, args = next(iter(spec.items()))
        args = args if isinstance(args, list) else [args]
    else:
        kind, _, rest = str(spec).partition(":")
        args = [a for a in rest.split(",") if a.strip()]
    kind = kind.strip().lower().replace("-", "").replace("_", "")
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise UsageError(f"{flag} {spec!r}: the parameters must be numbers") from None
    forms = {"halfcauchy": (HalfCauchy, (1,), "halfcauchy:SCALE"),
             "halfnormal": (HalfNormal, (0, 1), "halfnormal[:SCALE]"),
             "halft": (HalfStudentT, (1, 2), "halft:NU[,SCALE]"),
             "halfstudentt": (HalfStudentT, (1, 2), "halfstudentt:NU[,SCALE]"),
             "exponential": (Exponential, (0, 1), "exponential[:RATE]"),
             "invgamma": (InvGamma, (2,), "invgamma:A,B"),
             "invwishart": (InvWishart, (1, 2), "invwishart:DF[,SCALE]"),
             "huangwand": (HuangWand, (0, 1, 2), "huangwand[:NU[,SCALE]]")}
    if kind not in forms:
        raise UsageError(f"{flag} {spec!r}: unknown family {kind!r}; use " + ", ".join(f for _, _, f in forms.values()))
    cls, counts, form = forms[kind]
    if len(values) not in counts:
        raise UsageError(f"{flag} {spec!r}: expected {form}")
    try:
        return cls(*values)
    except ValueError as err:
        raise UsageError(f"{flag} {spec!r}: {err}") from None


def parse_sigma(spec):
    """``--sigma``: a prior on the noise scale (``invgamma:A,B`` on sigma^2, ``halfnormal:S``, ``halft:NU,S``,
    ``exponential:RATE``) or ``jeffreys`` (p(sigma^2) ∝ 1/sigma^2, where the model offers it)."""
    if spec is None or str(spec).strip().lower() == "jeffreys":
        return None if spec is None else "jeffreys"
    prior = parse_tau(spec, "--sigma")
    from ..priors import HuangWand, InvWishart

    if isinstance(prior, (InvWishart, HuangWand)):
        raise UsageError(f"--sigma {spec!r}: sigma is one scale; use invgamma, halfnormal, halft or exponential")
    return prior


def read_prior_file(path: str) -> dict:
    """The prior keys of a .json or .toml file (KEYS: prior, mean, scale, a, b, tau, mu_scale, group_variance, sigma,
    nu, and the wide priors' p0, global_scale, slab_scale, slab_df, lasso_shape, lasso_rate)."""
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


def parse_settings(spec: dict) -> dict:
    """The prior keys with their values parsed: numbers (or lists of numbers) for mean, scale and mu_scale, a
    scale prior for tau, and the noise prior as ``sigma`` (an InvGamma from --a/--b, a scale prior, or
    "jeffreys"); a model kind's front end (``registry.FrontEnd.prior``) builds its prior from them."""
    parsed = {}
    for key, value in spec.items():
        if value is None:
            continue
        if key in ("mean", "scale", "a", "b", "mu_scale"):
            value = _numbers(value, key)
        elif key in SCALARS:
            value = _numbers(value, key)
            if isinstance(value, list):
                raise UsageError(f"--{key.replace('_', '-')} takes one number, got {spec[key]!r}")
        elif key == "tau":
            value = parse_tau(value)
        elif key == "sigma":
            value = parse_sigma(value)
        parsed[key] = value
    # --a/--b and --sigma invgamma:A,B are two spellings of one prior: the front ends see only "sigma"
    a, b = parsed.pop("a", None), parsed.pop("b", None)
    if (a is None) != (b is None):
        raise UsageError("give both --a and --b (the inverse-gamma prior on sigma^2), or neither")
    if a is not None:
        if "sigma" in parsed:
            raise UsageError("give --sigma or --a/--b (both set the prior of sigma), not both")
        from ..priors import InvGamma

        try:
            parsed["sigma"] = InvGamma(a, b)
        except ValueError as err:
            raise UsageError(f"--a/--b: {err}") from None
    return parsed


def kind_and_prior(kind, spec: dict):
    """The kind and its prior from the command line's keys: ``kind``'s front end (``kind.front.prior``) if it
    takes them, else the first other kind of the same family and grouping factors whose front end does (so
    ``--prior horseshoe`` reaches the wide kind where the flat kind was selected); when none does, the first
    kind's error if it knew the prior's name, else another kind's that did, else every kind's list of
    names.  A UsageError."""
    from .. import registry

    settings = parse_settings(spec)
    siblings = [registry.get(name) for name in registry.kinds()]
    siblings = [k for k in siblings if k is not kind and k.front is not None and k.front.prior is not None
                and k.front.family == kind.front.family and k.front.factors == kind.front.factors]
    errors = []
    for candidate in [kind] + siblings:
        try:
            return candidate, candidate.front.prior(dict(settings))
        except ValueError as err:
            errors.append(str(err))
    if "unknown prior" not in errors[0]:  # the selected kind knew the name: its message is the one
        raise UsageError(errors[0])
    named = [e for e in errors[1:] if "unknown prior" not in e]
    raise UsageError(named[0] if named else "; ".join(errors))


def model_prior(kind, spec: dict):
    """The prior of :func:`kind_and_prior` (the formula front end picks the kind from the prior itself)."""
    return kind_and_prior(kind, spec)[1]
