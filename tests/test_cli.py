"""First contact: the installed ``gibbsreg`` command never shows a traceback for a user's mistake,
takes priors on the command line, and the JIT cache stays out of the install."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gibbsreg as gr

BIN = Path(sys.executable).parent


def gibbsreg_cmd():
    """The installed console script (what a user types), next to this interpreter."""
    exe = shutil.which("gibbsreg", path=str(BIN))
    assert exe is not None, f"the gibbsreg entry point is not installed in {BIN}"
    return [exe]


def run(*args, timeout=300, **kw):
    return subprocess.run(gibbsreg_cmd() + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def assert_one_line_error(proc, status, pattern):
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("gibbsreg: error")]
    assert len(errors) == 1, proc.stderr
    assert re.search(pattern, errors[0]), errors[0]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    data = gr.datasets.synthetic_regression(120, 3, sigma=0.5, seed=5)
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    groups = np.repeat(["a", "b", "c", "d"], 30)
    with open(path, "w") as fh:
        fh.write("y,x0,x1,g\n")
        for yi, xi, gi in zip(data.y, data.X, groups):
            fh.write(f"{float(yi)!r},{float(xi[0])!r},{float(xi[1])!r},{gi}\n")
    return path


def test_missing_file(tmp_path):
    assert_one_line_error(run("sample", tmp_path / "missing.csv", "--y", "y"), 1, "does not exist")


def test_directory_without_data_files(tmp_path):
    assert_one_line_error(run("sample", tmp_path, "--y", "y"), 1, "holds no .parquet or .csv files")


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    assert_one_line_error(run("sample", tmp_path / "empty.csv", "--y", "y"), 1, "is empty")
    (tmp_path / "header.csv").write_text("y,x\n")
    assert_one_line_error(run("sample", tmp_path / "header.csv", "--y", "y"), 1, "no data rows|no rows")


def test_unreadable_file(tmp_path):
    binary = tmp_path / "data.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    assert_one_line_error(run("sample", binary, "--y", "y"), 1, "not a text")
    if os.geteuid() != 0:  # root reads any file: there the permission check cannot fail
        locked = tmp_path / "locked.csv"
        locked.write_text("y,x\n1,2\n")
        locked.chmod(0)
        assert_one_line_error(run("sample", locked, "--y", "y"), 1, "permission denied")


def test_unknown_column_and_bad_values(csv_file, tmp_path):
    assert_one_line_error(run("sample", csv_file, "--y", "nope"), 2, r"'nope' not in .*columns are \['y', 'x0', 'x1', 'g'\]")
    assert_one_line_error(run("sample", csv_file, "--y", "y", "--x", "x0,zz"), 2, "'zz' not in")
    bad = tmp_path / "bad.csv"
    bad.write_text("y,x\n1,2\n2,oops\n3,4\n")
    assert_one_line_error(run("sample", bad, "--y", "y"), 1, r"'x' .* not numeric: 'oops'")
    nan = tmp_path / "nan.csv"
    nan.write_text("y,x\n1,2\n2,\n3,4\n")
    assert_one_line_error(run("sample", nan, "--y", "y", "--quiet"), 1, "NaN at row 1")


def test_usage_errors(csv_file):
    assert_one_line_error(run("sample", csv_file, "--y", "y", "--prior", "ridgeway"), 2, "unknown prior")
    assert_one_line_error(run("sample", csv_file, "--y", "y", "--scale", "-1"), 2, "positive")
    assert_one_line_error(run("sample", csv_file, "--y", "y", "--groups", "g", "--tau", "cauchy:1"), 2, "unknown family")
    assert_one_line_error(run("sample", csv_file, "--y", "y", "--a", "2"), 2, "both --a and --b")
    assert_one_line_error(run("sample", csv_file, "--y", "y", "--draws", "0"), 2, "--draws must be at least 1")
    proc = run("sample", csv_file)  # argparse: a missing required option
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--y" in proc.stderr


def test_prior_flags_are_used_and_echoed(csv_file, tmp_path):
    out = tmp_path / "flat.npz"
    proc = run("sample", csv_file, "--y", "y", "--x", "x0,x1", "--prior", "semiconjugate", "--scale", "10",
               "--a", "2", "--b", "1", "--draws", "60", "--warmup", "20", "--quiet", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "Prior: SemiConjugate" in proc.stdout and "IG(2, 1)" in proc.stdout.replace(" ", "").replace("IG(2,1)", "IG(2, 1)")
    prior = gr.load(out).prior
    np.testing.assert_allclose(np.diag(prior.precision), 1 / 100.0)
    assert (prior.a, prior.b) == (2.0, 1.0)

    proc = run("sample", csv_file, "--y", "y", "--x", "x0", "--groups", "g", "--varying", "intercept",
               "--tau", "halfcauchy:1", "--draws", "40", "--warmup", "20", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "tau[intercept] ~ half-Cauchy(0, 1)" in proc.stdout

    spec = tmp_path / "prior.json"
    spec.write_text(json.dumps({"prior": "nig", "scale": [5, 5, 5], "a": 3, "b": 2}))
    proc = run("sample", csv_file, "--y", "y", "--x", "x0,x1", "--prior-file", spec, "--b", "4",
               "--draws", "40", "--warmup", "10", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "NormalInverseGamma" in proc.stdout and "IG(3, 4)" in proc.stdout  # the flag overrides the file

    toml = tmp_path / "prior.toml"
    toml.write_text('tau = "invgamma:1,0.5"\ngroup_variance = true\n')
    proc = run("sample", csv_file, "--y", "y", "--x", "x0", "--groups", "g", "--prior-file", toml,
               "--draws", "40", "--warmup", "10", "--quiet")
    if sys.version_info >= (3, 11):
        assert proc.returncode == 0, proc.stderr
        assert "tau2[intercept] ~ IG(1, 0.5)" in proc.stdout and "sigma2[j] ~ IG" in proc.stdout
    else:
        assert_one_line_error(proc, 2, "TOML prior files need Python 3.11")
    spec.write_text("{not json")
    assert_one_line_error(run("sample", csv_file, "--y", "y", "--prior-file", spec), 1, "not valid JSON")
    spec.write_text(json.dumps({"prior": "nig", "sclae": 1}))
    assert_one_line_error(run("sample", csv_file, "--y", "y", "--prior-file", spec), 2, r"unknown key\(s\) \['sclae'\]")


def test_broken_pipe(csv_file):
    proc = subprocess.Popen(gibbsreg_cmd() + ["sample", str(csv_file), "--y", "y", "--x", "x0,x1", "--draws", "50", "--warmup", "10",
                                              "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader goes away, as `| head` does after its lines
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err.strip().splitlines()[-1] == "gibbsreg: output closed early (broken pipe); stopped printing"


def _default_sigint():
    """In the child: SIGINT back to its default handler (a runner started in the background ignores SIGINT,
    and a child inherits that, so Ctrl-C would never reach the CLI)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_the_draws_made_so_far(csv_file, tmp_path):
    out = tmp_path / "partial.npz"
    proc = subprocess.Popen(gibbsreg_cmd() + ["sample", str(csv_file), "--y", "y", "--x", "x0,x1", "--backend", "numpy",
                                              "--draws", "100000000", "--warmup", "0", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    try:
        first = proc.stderr.readline()  # printed just before sampling starts
        assert first.startswith("gibbsreg: sampling"), first
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # a failed assertion must not leave a sampler running for 10^8 draws
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "gibbsreg: warning: sampling interrupted" in stderr
    assert re.search(r"gibbsreg: interrupted; the \d+ draws per chain made so far are in", stderr)
    post = gr.load(out)
    assert 0 < post.ndraws < 100000000 and post.attrs["interrupted"]
    assert "beta[intercept]" in stdout


def test_jit_cache_lives_outside_the_package(csv_file, tmp_path):
    from gibbsreg.kernels import _cache

    cache = tmp_path / "jit-cache"
    kernel_dir = Path(_cache.__file__).parent
    before = set(kernel_dir.rglob("*.nbi"))
    env = dict(os.environ, GIBBSREG_CACHE_DIR=str(cache))
    env.pop("NUMBA_CACHE_DIR", None)
    proc = run("sample", csv_file, "--y", "y", "--x", "x0", "--draws", "20", "--warmup", "5", "--quiet", env=env)
    assert proc.returncode == 0, proc.stderr
    assert any(cache.rglob("flat._flat_gibbs-*.nbi")), list(cache.rglob("*"))
    assert set(kernel_dir.rglob("*.nbi")) == before
    assert _cache.user_cache_dir() != kernel_dir


def test_kernel_cache_stamp_covers_every_kernel_file(tmp_path):
    """A cached kernel holds the code of the kernels it calls, in other files: its stamp covers them all."""
    from gibbsreg.kernels import _cache
    from gibbsreg.kernels.hier.chains import _one_chain as hier_one_chain

    (tmp_path / "hier").mkdir()
    (tmp_path / "draws.py").write_text("x = 1\n")
    (tmp_path / "hier" / "stages.py").write_text("y = 2\n")
    before = _cache.kernels_digest(str(tmp_path))
    (tmp_path / "hier" / "stages.py").write_text("y = 3\n")
    _cache.kernels_digest.cache_clear()
    assert _cache.kernels_digest(str(tmp_path)) != before
    locator = hier_one_chain._cache._impl.locator
    own, digest = locator.get_source_stamp()
    assert digest == _cache.kernels_digest(str(Path(_cache.__file__).parent))


def test_help_and_module_entry():
    proc = run("--help")
    assert proc.returncode == 0 and "exit status" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "gibbsreg", "sample", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--prior-file" in proc.stdout and "--tau" in proc.stdout


def test_every_subpackage_is_packaged():
    """A regular install ships only the packages pyproject lists: each folder with an __init__.py must be there."""
    root = Path(__file__).resolve().parents[1]
    listed = set(re.findall(r'"(gibbsreg[\w.]*)"', re.search(r"^packages = \[(.*)\]", (root / "pyproject.toml").read_text(),
                                                             re.M).group(1)))
    found = {"gibbsreg", "gibbsreg.kernels"} | {
        "gibbsreg." + ".".join(init.parent.relative_to(root / "src" / "gibbsreg").parts)
        for init in (root / "src" / "gibbsreg").rglob("__init__.py") if init.parent != root / "src" / "gibbsreg"} | {
        "gibbsreg.kernels." + ".".join(init.parent.relative_to(root / "kernels").parts)
        for init in (root / "kernels").rglob("__init__.py") if init.parent != root / "kernels"}
    assert found == listed


def test_summary_of_many_groups_fits_a_screen():
    data = gr.datasets.synthetic_hierarchical(386, 3, 2, tau=0.5, seed=8)
    post = gr.HierarchicalRegression(gr.HierarchicalPrior(group_variance=True)).sample(
        data.X, data.y, data.groups, chains=2, draws=60, warmup=30, seed=1, progress=False)
    text = str(post)
    assert len(text.splitlines()) < 30
    assert text.index("mu[intercept]") < text.index("beta: 772 group-level values (386 group x 2 coef) collapsed")
    assert "sigma2: 386 group-level values" in text and "worst r_hat" in text and "smallest ess_bulk" in text
    full = post.summary(groups=True)
    assert len(full) == 2 + 2 + 772 + 386
    assert full.index[:4] == ["mu[intercept]", "mu[x0]", "tau2[intercept]", "tau2[x0]"]
    assert len(post.summary(var_names=["beta"])) == 772
    small = gr.HierarchicalRegression().sample(data.X[:30], data.y[:30], data.groups[:30] % 5, chains=2, draws=40,
                                               warmup=20, seed=1, progress=False)
    assert "beta[0,intercept]" in str(small)  # 5 groups x 2: few enough to list


def test_formula_on_the_command_line(csv_file, tmp_path):
    out = tmp_path / "formula.npz"
    proc = run("sample", csv_file, "--formula", "y ~ x0 + x1 + (1 | g)", "--tau", "halfcauchy:1", "--draws", "40",
               "--warmup", "20", "--quiet", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "mu[intercept]" in proc.stdout and "tau[intercept] ~ half-Cauchy(0, 1)" in proc.stdout
    post = gr.load(out)
    assert post.attrs["formula"]["formula"] == "y ~ x0 + x1 + (1 | g)"
    assert post.coords["group"] == ["a", "b", "c", "d"]
    assert_one_line_error(run("sample", csv_file, "--formula", "y ~ x0 + (1 | g", "--quiet"), 2, "unclosed")
    assert_one_line_error(run("sample", csv_file, "--formula", "y ~ x0", "--y", "y"), 2, "drop --y")
    assert_one_line_error(run("sample", csv_file, "--formula", "y ~ x0 + zz", "--quiet"), 1, "'zz'")


def test_checkpoint_resume_and_statistics_on_the_command_line(csv_file, tmp_path):
    """sample --checkpoint then resume equals one longer run, bit for bit; --stats-out / --stats reuse the pass."""
    ck, stats, whole, resumed = (tmp_path / n for n in ("ck.npz", "stats.npz", "whole.npz", "resumed.npz"))
    common = ["--warmup", "30", "--seed", "4", "--quiet"]
    proc = run("sample", csv_file, "--y", "y", "--x", "x0,x1", "--groups", "g", "--draws", "50", "--checkpoint", ck,
               "--checkpoint-every", "0.001", "--stats-out", stats, *common)
    assert proc.returncode == 0, proc.stderr
    proc = run("resume", ck, csv_file, "--y", "y", "--x", "x0,x1", "--groups", "g", "--draws", "70", "--quiet",
               "--out", resumed)
    assert proc.returncode == 0, proc.stderr
    proc = run("sample", "--stats", stats, "--draws", "120", "--out", whole, *common)
    assert proc.returncode == 0, proc.stderr
    a, b = gr.load(resumed), gr.load(whole)
    assert a.ndraws == b.ndraws == 120 and a.attrs["model_kind"] == "hierarchical"
    for name in b.names:
        np.testing.assert_array_equal(a[name], b[name])
    assert_one_line_error(run("resume", ck, csv_file, "--y", "x0", "--x", "y,x1", "--groups", "g", "--quiet"), 1,
                          "other data|differ|fingerprint|statistics")
    assert_one_line_error(run("resume", csv_file, csv_file, "--y", "y"), 1, "gibbsreg posterior or checkpoint")
    assert_one_line_error(run("sample", "--stats", csv_file), 1, "statistics file")


def test_csv_statistics_streamed_in_chunks_equal_the_one_shot_statistics(csv_file, tmp_path):
    """Without the dask extra the command line reads CSV files chunk by chunk into merged statistics."""
    from gibbsreg.cli.errors import DataError
    from gibbsreg.cli.tables import stream_csv_stats

    frame = np.genfromtxt(csv_file, delimiter=",", names=True, dtype=None, encoding=None)
    X = np.column_stack([frame["x0"], frame["x1"]])
    one_shot = gr.sufficient_stats(X, frame["y"], frame["g"])
    streamed = stream_csv_stats(str(csv_file), "y", ["x0", "x1"], "g", chunk_rows=17)
    a, b = one_shot.pooled.to_sufficient(), streamed.pooled.to_sufficient()
    np.testing.assert_allclose(b.G, a.G, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.h, a.h, rtol=1e-10, atol=1e-9)
    assert list(streamed.labels) == ["a", "b", "c", "d"] and list(streamed.x_names) == ["x0", "x1"]
    kw = dict(chains=2, draws=40, warmup=10, seed=1, progress=False)
    d1 = gr.HierarchicalRegression().sample(stats=one_shot, **kw)
    d2 = gr.HierarchicalRegression().sample(stats=streamed, **kw)
    np.testing.assert_allclose(d2["mu"], d1["mu"], rtol=1e-8, atol=1e-10)
    bad = tmp_path / "bad.csv"
    bad.write_text("y,x\n" + "1,2\n" * 30 + "2,\n")
    with pytest.raises(DataError, match=r"'x' .* NaN .* line 32"):
        stream_csv_stats(str(bad), "y", chunk_rows=7)


def test_a_failure_after_sampling_says_where_the_draws_are(tmp_path, capsys):
    """When the draws are made and saved but the summary runs out of memory, the message says they are safe."""
    from gibbsreg.cli.commands import finish
    from gibbsreg.cli.errors import DataError

    class Huge(gr.Posterior):
        def __str__(self):
            raise MemoryError

    d = gr.datasets.synthetic_regression(100, 2, seed=1)
    post = gr.LinearRegression().sample(d.X, d.y, chains=2, draws=20, warmup=5, seed=1, progress=False)
    huge = Huge({k: post[k] for k in post.names}, post.dims, post.coords, post.attrs)
    out = tmp_path / "run.npz"
    with pytest.raises(DataError, match=r"out of memory while summarising the draws; the draws are safe in .*run\.npz"):
        finish(huge, str(out), 1.0)
    assert gr.load(out).ndraws == 20
    with pytest.raises(DataError, match="were not saved"):
        finish(huge, None, 1.0)
