"""The wide priors from the command line, through the entry point in-process (gibbsreg.cli.main):
``--prior horseshoe | regularized-horseshoe | lasso`` with their numbers as flags or prior-file keys."""

import inspect
import json

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg.cli import build_parser, commands, main

N, P = 30, 6


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, P))
    y = 1.0 + 2.0 * X[:, 0] + rng.standard_normal(N)
    path = tmp_path_factory.mktemp("wide_cli") / "wide.csv"
    rows = ["y," + ",".join(f"x{j}" for j in range(P))]
    rows += [",".join(repr(float(v)) for v in (y[i], *X[i])) for i in range(N)]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


FORMULA = "y ~ " + " + ".join(f"x{j}" for j in range(P))
RUN = ["--draws", "20", "--warmup", "10", "--chains", "1", "--quiet"]
# the lead's wiring (docs/wide.md, "Command line"): the rows path picks the kind from the prior, and the flags
ROWS_WIRED = "kind_and_prior" in inspect.getsource(commands)
FLAGS_WIRED = any("--p0" in a.option_strings for g in build_parser()._subparsers._group_actions
                  for sub in g.choices.values() if sub.prog.endswith("sample") for a in sub._actions)


def _sample(tmp_path, capsys, *args):
    out = str(tmp_path / "post.npz")
    status = main(["sample", *args, *RUN, "--out", out])
    err = capsys.readouterr().err
    assert status == 0, err
    return gr.load(out)


def _prior_file(tmp_path, **keys):
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(keys))
    return str(path)


def test_formula_with_a_horseshoe(csv_file, tmp_path, capsys):
    post = _sample(tmp_path, capsys, csv_file, "--formula", FORMULA, "--prior", "horseshoe")
    assert post.attrs["model_kind"] == "wide"
    assert post.attrs["prior"].kind == "Horseshoe"


def test_prior_file_regularised_horseshoe_numbers(csv_file, tmp_path, capsys):
    spec = _prior_file(tmp_path, prior="regularized-horseshoe", p0=2, slab_scale=3.0, slab_df=5)
    post = _sample(tmp_path, capsys, csv_file, "--formula", FORMULA, "--prior-file", spec, "--a", "2", "--b", "1")
    prior = post.attrs["prior"]
    assert prior.kind == "RegularizedHorseshoe" and post.attrs["model_kind"] == "wide"
    assert prior.slab_scale == 3.0 and prior.slab_df == 5.0 and (prior.sigma_a, prior.sigma_b) == (2.0, 1.0)
    assert prior.global_scale == pytest.approx(2 / (P - 2) / np.sqrt(N - 1))  # p0's tau0 (m = n - 1)


@pytest.mark.parametrize("keys,status,pattern", [
    ({"prior": "horseshoe", "slab_scale": 2}, 2, r"--slab-scale does not apply"),
    ({"prior": "lasso", "p0": 2}, 2, r"--p0 does not apply"),
    ({"prior": "horseshoe", "p0": -1}, 2, r"p0 must be a positive"),
    ({"prior": "horseshoe", "p0": "1,2"}, 2, r"--p0 takes one number"),
    ({"prior": "horsehoe"}, 2, r"unknown prior.*semiconjugate.*horseshoe"),
])
def test_bad_wide_prior_settings_are_usage_errors(csv_file, tmp_path, capsys, keys, status, pattern):
    assert main(["sample", csv_file, "--formula", FORMULA, "--prior-file", _prior_file(tmp_path, **keys),
                 *RUN]) == status
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("gibbsreg: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert __import__("re").search(pattern, lines[0]), lines[0]


@pytest.mark.skipif(not ROWS_WIRED, reason="needs commands.run_sample to call priorspec.kind_and_prior (lead)")
def test_columns_with_a_lasso(csv_file, tmp_path, capsys):
    post = _sample(tmp_path, capsys, csv_file, "--y", "y", "--prior", "lasso")
    assert post.attrs["model_kind"] == "wide" and post.attrs["prior"].kind == "BayesianLasso"


@pytest.mark.skipif(not (ROWS_WIRED and FLAGS_WIRED), reason="needs the lead's --p0/--slab-scale flags")
def test_flags_regularised_horseshoe(csv_file, tmp_path, capsys):
    post = _sample(tmp_path, capsys, csv_file, "--y", "y", "--prior", "regularized-horseshoe", "--p0", "2",
                   "--slab-scale", "3", "--slab-df", "6")
    prior = post.attrs["prior"]
    assert prior.kind == "RegularizedHorseshoe" and prior.slab_scale == 3.0 and prior.slab_df == 6.0
