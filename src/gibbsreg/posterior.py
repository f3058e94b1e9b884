"""The Posterior container: draws shaped (chain, draw, *shape), named like the maths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .io.rows import FittedData

FORMAT_VERSION = 1
GROUP_ROWS_SHOWN = 20  # group-level scalars printed in full up to this many; more are collapsed


class SummaryTable:
    """A small printable table: rows are scalar parameters, columns are statistics.

    ``table["mean"]`` gives a column as an array, ``table.row("beta[x1]")`` a row
    as a dict, ``table.to_pandas()`` a DataFrame when pandas is installed.
    """

    def __init__(self, index: list[str], columns: list[str], values: np.ndarray, header: str = "",
                 notes: list[str] | None = None):
        self.index = list(index)
        self.columns = list(columns)
        self.values = np.asarray(values, dtype=float)
        self.header = header
        self.notes = list(notes or [])  # lines printed under the table (collapsed group-level parameters)

    def __getitem__(self, column: str) -> np.ndarray:
        return self.values[:, self.columns.index(column)]

    def row(self, label: str) -> dict:
        return dict(zip(self.columns, self.values[self.index.index(label)]))

    def __len__(self):
        return len(self.index)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.values, index=self.index, columns=self.columns)

    def to_dict(self) -> dict:
        return {label: self.row(label) for label in self.index}

    def __str__(self) -> str:
        def fmt(col, v):
            if not np.isfinite(v):
                return "nan"
            if col.startswith("ess"):
                return f"{v:.0f}"
            if col == "r_hat":
                return f"{v:.3f}"
            return f"{v:.4g}"

        cells = [[fmt(c, v) for c, v in zip(self.columns, row)] for row in self.values]
        w0 = max([len(s) for s in self.index] + [4])
        widths = [max(len(c), *(len(r[j]) for r in cells)) if cells else len(c) for j, c in enumerate(self.columns)]
        lines = [self.header] if self.header else []
        lines.append(" " * w0 + "  " + "  ".join(c.rjust(w) for c, w in zip(self.columns, widths)))
        for label, r in zip(self.index, cells):
            lines.append(label.ljust(w0) + "  " + "  ".join(s.rjust(w) for s, w in zip(r, widths)))
        lines.extend(self.notes)
        return "\n".join(lines)

    __repr__ = __str__


def _labels(name: str, shape: tuple, dims: list[str], coords: dict) -> list[str]:
    if not shape:
        return [name]
    axes = [coords.get(d, list(range(n))) for d, n in zip(dims, shape)]
    labels = []
    for idx in np.ndindex(*shape):
        parts = [str(axes[a][i]) for a, i in enumerate(idx)]
        labels.append(f"{name}[{','.join(parts)}]")
    return labels


class Posterior:
    """Posterior draws of one model.

    ``post["beta"]`` is (chains, draws, p) for flat models, ``post["sigma2"]``
    (chains, draws); ``post.coords`` holds coefficient names (and group labels),
    ``post.dims`` the dimension names of each variable, ``post.attrs`` the
    resolved prior, sampling settings and timings.
    """

    def __init__(self, draws: dict, dims: dict | None = None, coords: dict | None = None, attrs: dict | None = None):
        # draws kept in a disk store (gibbsreg.store.StoredDraws) stay lazy: mapped when read
        self._draws = {k: v if getattr(v, "lazy_draws", False) else np.asarray(v) for k, v in draws.items()}
        shapes = {v.shape[:2] for v in self._draws.values()}
        if len(shapes) > 1:
            raise ValueError(f"all variables must share (chain, draw) dimensions, got {shapes}")
        self.dims = {k: list((dims or {}).get(k, [f"{k}_dim_{i}" for i in range(v.ndim - 2)])) for k, v in self._draws.items()}
        self.coords = {k: list(v) for k, v in (coords or {}).items()}
        self.attrs = dict(attrs or {})
        self.data: FittedData | None = None  # set by the models' sample(); not saved
        self.state = None  # gibbsreg.runstate.RunState: lets model.resume / gibbsreg.resume continue the run
        self.store = None  # the disk store holding the draws, if any
        self._summaries = {}  # summary tables already computed, by (var_names, prob, groups), for "shapes"

    @property
    def names(self) -> list[str]:
        return list(self._draws)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            v = self._draws[name]
        except KeyError:
            raise KeyError(f"no variable {name!r}; the posterior has {self.names}") from None
        return v.array() if getattr(v, "lazy_draws", False) else v

    def __contains__(self, name) -> bool:
        return name in self._draws

    def __iter__(self):
        return iter(self._draws)

    @property
    def nchains(self) -> int:
        return next(iter(self._draws.values())).shape[0]

    @property
    def ndraws(self) -> int:
        return next(iter(self._draws.values())).shape[1]

    @property
    def resumable(self) -> bool:
        """True when the posterior carries the sampler state that ``resume`` continues."""
        return self.state is not None

    @property
    def prior(self):
        """The resolved prior the draws were made under (if recorded)."""
        return self.attrs.get("prior")

    def labels(self, name: str) -> list[str]:
        """Row labels of a variable's scalar components, e.g. ``beta[x1]``."""
        if name not in self._draws:
            raise KeyError(f"no variable {name!r}; the posterior has {self.names}")
        return _labels(name, self._draws[name].shape[2:], self.dims[name], self.coords)

    def group_level(self, name: str) -> bool:
        """Whether a variable has one value per group (a dim listed in ``attrs["group_dims"]``, default "group")."""
        group_dims = set(self.attrs.get("group_dims", ["group"]))
        return any(d in group_dims for d in self.dims.get(name, []))

    def summary(self, var_names=None, prob: float = 0.95, groups: bool | None = None) -> SummaryTable:
        """Mean, sd, equal-tailed interval, MCSE of the mean, bulk/tail ESS and rank R-hat per scalar.

        Population-level parameters come first.  Group-level ones (beta (J, q), per-group sigma2)
        are listed when ``groups=True``, when named in ``var_names``, or when there are at most
        GROUP_ROWS_SHOWN of them; otherwise each is collapsed to one line: how many values, the
        worst R-hat and the smallest bulk and tail ESS among them, and where.
        """
        key = (None if var_names is None else tuple([var_names] if isinstance(var_names, str) else var_names),
               float(prob), groups)
        # print(post) reuses summary(); draws appended to a store the Posterior reads change its shapes,
        # and with them the tables
        shapes = tuple((k, tuple(v.shape)) for k, v in self._draws.items())
        if self._summaries.get("shapes") != shapes:
            self._summaries = {"shapes": shapes}
        if key not in self._summaries:
            self._summaries[key] = self._summary(var_names, prob, groups)
        return self._summaries[key]

    def _summary(self, var_names, prob, groups) -> SummaryTable:
        from .store import summary_blocks

        if var_names is not None:
            names = [var_names] if isinstance(var_names, str) else list(var_names)
            for name in names:
                if name not in self._draws:
                    raise KeyError(f"no variable {name!r}; the posterior has {self.names}")
            shown, collapsed = names, []
        else:
            population = [n for n in self.names if not self.group_level(n)]
            group = [n for n in self.names if self.group_level(n)]
            n_group = sum(int(np.prod(self._draws[n].shape[2:])) for n in group)
            show_groups = groups if groups is not None else n_group <= GROUP_ROWS_SHOWN
            shown, collapsed = (population + group, []) if show_groups else (population, group)
        index, rows, notes = [], [], []
        cols = None
        # collapsed variables need only the diagnostics their line reads (one pass either way)
        for name, labels, stats in summary_blocks(self, shown + collapsed, prob=prob, diagnostics_only=collapsed):
            stats["r_hat"] = stats.pop("rhat")
            if cols is None:
                cols = list(stats)
            block = np.stack([np.asarray(stats[c], dtype=float).reshape(-1) for c in cols], axis=1)
            if name in collapsed:
                notes.append(self._collapsed_line(name, block, cols))
                continue
            rows.append(block)
            index.extend(labels)
        if collapsed:
            notes.append("  (post.summary(groups=True) or post.summary(var_names=[...]) lists every value)")
        header = f"Posterior: {self.nchains} chains x {self.ndraws} draws"
        if "model" in self.attrs:
            header = f"{self.attrs['model']}  |  " + header
        values = np.concatenate(rows, axis=0) if rows else np.zeros((0, len(cols or [])))
        return SummaryTable(index, cols or [], values, header, notes)

    def _collapsed_line(self, name: str, block: np.ndarray, cols: list[str]) -> str:
        labels = self.labels(name)
        shape = " x ".join(f"{n} {d}" for n, d in zip(self._draws[name].shape[2:], self.dims[name]))

        def extreme(col, largest):
            v = block[:, cols.index(col)]
            finite = np.flatnonzero(np.isfinite(v))
            if finite.size == 0:
                return f"{col} nan"
            i = int(finite[np.argmax(v[finite]) if largest else np.argmin(v[finite])])
            return f"{col} {v[i]:.3f} ({labels[i]})" if col == "r_hat" else f"{col} {v[i]:.0f} ({labels[i]})"

        return (f"{name}: {len(labels)} group-level values ({shape}) collapsed;\n    worst "
                f"{extreme('r_hat', True)}, smallest {extreme('ess_bulk', False)}, "
                f"smallest {extreme('ess_tail', False)}")

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape[2:]) if v.ndim > 2 else '()'}" for k, v in self._draws.items())
        return f"<Posterior {self.nchains} chains x {self.ndraws} draws: {shapes}>"

    def __str__(self) -> str:
        text = str(self.summary())
        if self.prior is not None:
            text += "\n" + str(self.prior)
        return text

    def predict(self, X_new=None, groups=None, seed=None, prob: float = 0.95, *, newdata=None):
        """Posterior predictive draws at new rows; see :func:`gibbsreg.predict.predict`.

        ``newdata`` (a DataFrame) instead of ``X_new``/``groups``: for a posterior sampled from a
        formula (``gibbsreg.model``), the rows are encoded as at fitting time.
        """
        from .predict import predict

        if newdata is not None:
            if X_new is not None or groups is not None:
                raise ValueError("give either newdata= (a data frame) or X_new/groups (the design matrix), not both")
            if "formula" not in self.attrs:
                raise ValueError("newdata= needs a posterior sampled from a formula (gibbsreg.model); "
                                 "this one was sampled from a matrix: pass X_new (and groups)")
            from . import registry

            X_new, groups = registry.encoder("formula")(self.attrs["formula"], newdata)
        elif X_new is None:
            raise ValueError("predict needs X_new (rows of the design matrix) or newdata= (a data frame)")
        return predict(self, X_new, groups=groups, seed=seed, prob=prob)

    # ---- persistence -------------------------------------------------------------------

    def save(self, path) -> None:
        """Write every draw, coordinate, attribute and the sampler state to an .npz file (lossless),
        atomically (a temporary file renamed over ``path``), so a crash never leaves half a file."""
        from .runstate import atomic_write

        payload = {f"draws/{k}": self[k] for k in self._draws}
        payload.update(self._meta_payload())
        atomic_write(Path(path), lambda fh: np.savez(fh, **payload))

    def _meta_payload(self, store: bool = False) -> dict:
        attrs = {}
        for k, v in self.attrs.items():
            attrs[k] = {"__object__": type(v).__name__, "data": v.to_dict()} if hasattr(v, "to_dict") else v
        meta = {"format": FORMAT_VERSION, "dims": self.dims, "coords": self.coords, "attrs": attrs,
                "chains": self.nchains, "draws": self.ndraws}
        payload = {}
        if self.state is not None:
            meta["state"] = self.state.meta()
            payload.update({f"state/{k}": v for k, v in self.state.arrays.items()})
        if store:
            meta["store"] = {k: list(v.shape[2:]) for k, v in self._draws.items()}
        payload["__meta__"] = np.frombuffer(json.dumps(meta, default=_json_default).encode(), dtype=np.uint8)
        return payload

    def _save_meta_only(self, path) -> None:
        """The store's checkpoint: everything but the draws, which live in the store's files."""
        from .runstate import atomic_write

        payload = self._meta_payload(store=True)
        atomic_write(Path(path), lambda fh: np.savez(fh, **payload))

    def to_arviz(self, X=None, y=None, groups=None, **kwargs):
        """An arviz.InferenceData: posterior, and (from the data) log_likelihood, posterior_predictive,
        observed_data, constant_data and prior; see :func:`gibbsreg.analysis.to_inference_data`."""
        from .analysis.inference import to_inference_data

        return to_inference_data(self, X, y, groups, **kwargs)


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot save attribute of type {type(obj).__name__}")


def load(path) -> Posterior:
    """Read a Posterior written by :meth:`Posterior.save`, a checkpoint, or a disk store's directory.

    A file that is empty, truncated, corrupt or not gibbsreg's gives a ValueError saying so.
    """
    import struct
    import zipfile

    from . import registry
    from .npzfile import mapped_members
    from .runstate import RunState, describe_bad_file
    from .store import STATE_FILE, open_store

    path = Path(path)
    directory = None
    if path.is_dir():
        directory = path
        path = path / STATE_FILE
        if not path.exists():
            raise ValueError(f"{str(directory)!r} is a directory without {STATE_FILE}: not a gibbsreg store")
    if not path.exists():
        raise ValueError(f"no such file: {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files") or "__meta__" not in data.files:
                raise ValueError(f"{str(path)!r} is not a gibbsreg posterior or checkpoint (no gibbsreg metadata)")
            meta = json.loads(bytes(data["__meta__"]).decode())
            state_arrays = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
        # the draws are mapped, not read: a saved run costs page cache until used (gibbsreg.npzfile)
        draws = mapped_members(path, "draws/")
    except ValueError as exc:
        if "gibbsreg" in str(exc):
            raise
        raise describe_bad_file(path, exc) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError,
            struct.error) as exc:
        raise describe_bad_file(path, exc) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION or "attrs" not in meta:
        raise ValueError(f"{str(path)!r}: unsupported gibbsreg file format {meta.get('format') if isinstance(meta, dict) else None!r} "
                         f"(this version reads format {FORMAT_VERSION})")
    if "store" in meta:
        draws = open_store(directory if directory is not None else path.parent, meta["store"],
                           int(meta["chains"]), int(meta["draws"]))
    elif not draws:
        raise ValueError(f"{str(path)!r} holds no draws")
    attrs = {}
    for k, v in meta["attrs"].items():
        if isinstance(v, dict) and "__object__" in v:
            try:
                v = registry.prior_class(v["__object__"]).from_dict(v["data"])
            except ValueError as exc:
                raise ValueError(f"{str(path)!r}: {exc}") from None
        attrs[k] = v
    try:
        post = Posterior(draws, meta["dims"], meta["coords"], attrs)
    except ValueError as exc:
        raise ValueError(f"{str(path)!r} is inconsistent: {exc}") from None
    if "state" in meta:
        post.state = RunState.from_meta(meta["state"], state_arrays)
        if post.state.draws_done != post.ndraws or post.state.chains != post.nchains:
            raise ValueError(f"{str(path)!r} is inconsistent: its state has {post.state.chains} chains x "
                             f"{post.state.draws_done} draws but it holds {post.nchains} x {post.ndraws}")
    if "store" in meta:
        from .store import DiskStore

        store = DiskStore(directory if directory is not None else path.parent, None, post.nchains)
        post.store = store
    return post
