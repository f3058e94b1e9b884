"""The explicit state of a sampling run: what resume, checkpoints and ``until=`` hand on.

A :class:`RunState` holds everything needed to continue every chain exactly where it
stopped: each chain's parameter arrays (the very arrays the kernels and the NumPy
reference update in place), each chain's generator states, the warm-up and draw
counters, the thinning, the seed, the model's configuration and a fingerprint of the
data statistics and the resolved prior.  Runs stop only at chunk boundaries, where
the thinning phase is always zero (chunks of kept draws are whole multiples of
``thin``), so continuing from a state gives the same draws as one uninterrupted run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import registry

STATE_FORMAT = 1


# ---- generator states -----------------------------------------------------------------------

def _encode(value):
    """Generator state dict -> JSON-safe dict (128-bit PCG64 integers become strings)."""
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {"__int__": str(int(value))}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    return value


def _decode(value):
    if isinstance(value, dict):
        if "__int__" in value:
            return int(value["__int__"])
        if "__array__" in value:
            return np.asarray(value["__array__"], dtype=value["dtype"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def capture_streams(streams) -> list[dict]:
    """Per chain, the states of its normal, gamma and init generators (JSON-safe)."""
    return [{"normal": _encode(n.bit_generator.state), "gamma": _encode(g.bit_generator.state),
             "init": _encode(i.bit_generator.state)}
            for n, g, i in zip(streams.normal, streams.gamma, streams.init)]


def restore_streams(rng: list[dict]):
    """ChainStreams whose generators continue exactly from the captured states."""
    from .sampling import ChainStreams

    out = {"normal": [], "gamma": [], "init": []}
    for chain in rng:
        for key in out:
            state = _decode(chain[key])
            name = state.get("bit_generator", "PCG64")
            if name != "PCG64":
                raise ValueError(f"unsupported bit generator {name!r} in the saved state")
            bg = np.random.PCG64()
            bg.state = state
            out[key].append(np.random.Generator(bg))
    return ChainStreams(out["normal"], out["gamma"], out["init"])


# ---- fingerprints ---------------------------------------------------------------------------

def _canonical(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    return obj


class Fingerprint:
    """What a resume must match: ``exact`` (sha256 of the statistics, prior and settings, bit for
    bit), ``layout`` (sha256 of the settings and shapes alone) and ``numeric`` (a few fixed
    projections of the statistics and prior numbers, compared to 1e-9 so that statistics
    recomputed on another machine, equal up to rounding, are accepted with a warning).

    A fingerprint made by :func:`fingerprint` is computed when first read: hashing the statistics
    costs more than a short run's sampling (0.3 ms at p = 10; seconds for 10^5 groups), and a run
    that is never checkpointed, saved or resumed never reads it."""

    def __init__(self, exact: str | None = None, layout: str | None = None, numeric=None, *, source=None):
        self._source = source
        self._values = None if source is not None else (str(exact), str(layout), [float(v) for v in numeric])

    def _get(self):
        if self._values is None:
            self._values = _compute_fingerprint(*self._source)
            self._source = None
        return self._values

    exact = property(lambda self: self._get()[0])
    layout = property(lambda self: self._get()[1])
    numeric = property(lambda self: self._get()[2])

    def __eq__(self, other):
        return isinstance(other, Fingerprint) and self._get() == other._get()

    def __repr__(self):
        return f"Fingerprint(exact={self.exact!r}, layout={self.layout!r}, numeric={self.numeric!r})"

    def to_dict(self) -> dict:
        return {"exact": self.exact, "layout": self.layout, "numeric": [float(v) for v in self.numeric]}

    @classmethod
    def from_dict(cls, d: dict) -> "Fingerprint":
        return cls(str(d["exact"]), str(d["layout"]), [float(v) for v in d["numeric"]])


def fingerprint(settings: dict, stats_arrays: dict, prior_dict: dict) -> Fingerprint:
    """Fingerprint of a model's settings (names, shapes, options), statistics and resolved prior,
    computed when first read (the arguments must not change meanwhile: the models pass their own
    statistics, made for the run)."""
    return Fingerprint(source=(settings, stats_arrays, prior_dict))


def _compute_fingerprint(settings: dict, stats_arrays: dict, prior_dict: dict):
    settings_json = json.dumps(_canonical(settings), sort_keys=True)
    prior_canonical = _canonical(prior_dict)
    prior_json = json.dumps(prior_canonical, sort_keys=True)
    exact = hashlib.sha256(settings_json.encode())
    exact.update(prior_json.encode())
    shapes = {}
    numbers = []
    for name in sorted(stats_arrays):
        a = np.ascontiguousarray(np.asarray(stats_arrays[name], dtype=np.float64))
        exact.update(name.encode())
        exact.update(a.tobytes())
        shapes[name] = list(a.shape)
        numbers.append(a.reshape(-1))
    numbers.append(np.fromiter(_numbers(prior_canonical), dtype=np.float64))
    layout = hashlib.sha256((settings_json + json.dumps(shapes, sort_keys=True)).encode()).hexdigest()
    flat = np.concatenate(numbers) if numbers else np.zeros(0)
    flat = np.where(np.isfinite(flat), flat, 0.0)
    numeric = list((_projection_weights(flat.size) * flat).sum(axis=1)) + [float(np.abs(flat).sum())]
    return exact.hexdigest(), layout, [float(v) for v in numeric]


@functools.lru_cache(maxsize=16)
def _projection_weights(size: int) -> np.ndarray:
    """Fixed pseudo-random signed weights (4, size): any real change of the statistics moves some projection."""
    w = np.random.default_rng(20261129).standard_normal((4, size))
    w.flags.writeable = False
    return w


def _numbers(obj):
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    if isinstance(obj, (int, float)):
        yield float(obj)
    elif isinstance(obj, dict):
        for k in sorted(obj):
            yield from _numbers(obj[k])
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)


def check_fingerprint(saved: Fingerprint, current: Fingerprint) -> bool:
    """True when bitwise equal; False (with a warning by the caller) when equal to rounding;
    a ValueError when the data, the prior or the model settings differ."""
    if saved.exact == current.exact:
        return True
    if saved.layout != current.layout:
        raise ValueError("cannot resume: the model settings or the shape of the data differ from the saved run's "
                         "(another model, other columns, other groups, another number of chains or prior family)")
    a, b = np.asarray(saved.numeric), np.asarray(current.numeric)
    tol = 1e-9 * np.maximum(a[-1], b[-1]) + 1e-300
    if a.shape != b.shape or np.any(np.abs(a - b) > tol):
        raise ValueError("cannot resume: the data's sufficient statistics or the resolved prior differ from the "
                         "saved run's (other data or another prior); resume with the data and prior of the run")
    return False


# ---- the state ------------------------------------------------------------------------------

def _json_copy(obj):
    """A deep copy of JSON-like data (dicts, lists, scalars); a JSON round trip costs several times more."""
    if isinstance(obj, dict):
        return {k: _json_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_copy(v) for v in obj]
    return obj


@dataclass
class RunState:
    """One run's whole state; ``arrays`` are each chain's parameters, ``rng`` its generators' states."""

    kind: str
    chains: int
    arrays: dict
    rng: list
    warmup: int
    warmup_done: int
    draws_target: int
    draws_done: int
    thin: int
    seed: str | None
    backend: str
    fingerprint: Fingerprint
    config: dict = field(default_factory=dict)
    phase: int = 0  # iterations since the last kept draw: always 0 at a chunk boundary

    def copy(self) -> "RunState":
        return RunState(self.kind, self.chains, {k: v.copy() for k, v in self.arrays.items()},
                        _json_copy(self.rng), self.warmup, self.warmup_done, self.draws_target,
                        self.draws_done, self.thin, self.seed, self.backend, self.fingerprint,
                        _json_copy(self.config), self.phase)

    @property
    def complete(self) -> bool:
        return self.warmup_done >= self.warmup and self.draws_done >= self.draws_target

    def meta(self) -> dict:
        return {"format": STATE_FORMAT, "kind": self.kind, "chains": self.chains, "rng": self.rng,
                "warmup": self.warmup, "warmup_done": self.warmup_done, "draws_target": self.draws_target,
                "draws_done": self.draws_done, "thin": self.thin, "seed": self.seed, "backend": self.backend,
                "fingerprint": self.fingerprint.to_dict(), "config": self.config, "phase": self.phase,
                "arrays": sorted(self.arrays)}

    @classmethod
    def from_meta(cls, meta: dict, arrays: dict) -> "RunState":
        if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported sampler-state format {meta.get('format') if isinstance(meta, dict) else meta!r}"
                             f" (this gibbsreg reads format {STATE_FORMAT})")
        if meta.get("kind") not in registry.kinds():
            raise ValueError(f"unknown sampler-state kind {meta.get('kind')!r} (known: {', '.join(registry.kinds())})")
        missing = [k for k in meta.get("arrays", []) if k not in arrays]
        if missing:
            raise ValueError(f"the saved sampler state lacks the arrays {missing}")
        chains = int(meta["chains"])
        if len(meta["rng"]) != chains:
            raise ValueError("the saved sampler state has generator states for "
                             f"{len(meta['rng'])} chains but {chains} chains")
        for k, a in arrays.items():
            if a.shape[:1] != (chains,):
                raise ValueError(f"the saved state array {k!r} has shape {a.shape}, not one row per chain ({chains})")
        state = cls(meta["kind"], chains, {k: np.array(arrays[k], dtype=np.float64) for k in meta["arrays"]},
                    meta["rng"], int(meta["warmup"]), int(meta["warmup_done"]), int(meta["draws_target"]),
                    int(meta["draws_done"]), int(meta["thin"]), meta.get("seed"), meta["backend"],
                    Fingerprint.from_dict(meta["fingerprint"]), dict(meta.get("config", {})), int(meta.get("phase", 0)))
        if state.phase != 0:
            raise ValueError("the saved state stopped inside a thinning interval; this gibbsreg cannot continue it")
        return state


def seed_label(seed) -> str | None:
    """A JSON-safe record of the seed (SeedSequence entropy can exceed 64 bits)."""
    if seed is None:
        return None
    if isinstance(seed, np.random.SeedSequence):
        return f"SeedSequence({seed.entropy})"
    if isinstance(seed, (int, np.integer)):
        return str(int(seed))
    return repr(seed)


# ---- atomic files ---------------------------------------------------------------------------

def atomic_write(path, write) -> None:
    """``write(fh)`` into a temporary file beside ``path``, fsync it, rename it over ``path``,
    fsync the directory: a crash at any moment leaves the old or the new file, never a mix."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    tmp = directory / f".{path.name}.tmp"
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def describe_bad_file(path, exc: BaseException) -> ValueError:
    """A clear error for a file that is empty, truncated, corrupt or not gibbsreg's."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError:
        size = None
    if size == 0:
        why = "it is empty"
    elif isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        why = "its contents are corrupt (checksum mismatch)"
    elif isinstance(exc, (zipfile.BadZipFile, EOFError)):
        why = "it is truncated or not a gibbsreg .npz file"
    else:
        why = f"{type(exc).__name__}: {exc}"
    return ValueError(f"cannot read {str(path)!r} as a gibbsreg posterior or checkpoint: {why}")
