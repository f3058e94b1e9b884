"""The peak resident memory of a run, a save and a resume stays within 1.3 x its draws (issue: no run lost
to memory).  Each case runs in a fresh process that first compiles on a tiny run, so the baseline (Python,
NumPy, Numba, the JIT code) is measured and subtracted; the draws are a few hundred MB so a multiple shows.
"""

import subprocess
import sys

import pytest

SCRIPT = r"""
import resource, sys
import numpy as np
import gibbsreg as gr

def peak():  # bytes: macOS reports ru_maxrss in bytes, Linux in kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)

rng = np.random.default_rng(0)
X = rng.normal(size=(2000, 99)); y = X @ rng.normal(size=99) + rng.normal(size=2000)
kw = dict(chains=4, warmup=20, seed=1, progress=False)
gr.LinearRegression().sample(X[:200], y[:200], draws=20, **kw)  # compile, touch every code path once
mode, path = sys.argv[1], sys.argv[2]
base = peak()
if mode == "sample":
    post = gr.LinearRegression().sample(X, y, draws=60_000, **kw)
    post.save(path)
else:
    post = gr.resume(path, X, y, draws=40_000, progress=False)
draws = sum(post[k].nbytes for k in post.names)
print(draws, peak() - base)
"""


def _run(mode, path):
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT, mode, str(path)], capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    draws, grown = map(int, out.stdout.split())
    return draws, grown


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no resource module to read the peak resident set")
def test_sample_save_and_resume_peak_within_1_3x_the_draws(tmp_path):
    path = tmp_path / "run.npz"
    draws, grown = _run("sample", path)
    assert draws > 150e6
    assert grown <= 1.3 * draws, f"sample + save grew {grown / 1e6:.0f} MB for {draws / 1e6:.0f} MB of draws"
    draws, grown = _run("resume", path)  # the saved 60,000 draws are mapped, not read in, then 40,000 more
    assert grown <= 1.3 * draws, f"resume grew {grown / 1e6:.0f} MB for {draws / 1e6:.0f} MB of draws"


GROUPED = r"""
import resource, sys
import numpy as np
import gibbsreg as gr

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)

d = gr.datasets.synthetic_hierarchical(300, 20, 5, tau=0.5, seed=1)
kw = dict(chains=4, warmup=30, seed=1, progress=False)
gr.HierarchicalRegression().sample(d.X, d.y, d.groups, draws=20, **kw).summary()
base = peak()
post = gr.HierarchicalRegression().sample(d.X, d.y, d.groups, draws=8000, **kw)
str(post.summary())  # the group-level parameters' summary and diagnostics
post.save(sys.argv[1])
print(sum(post[k].nbytes for k in post.names), peak() - base)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no resource module to read the peak resident set")
def test_hierarchical_summary_and_save_peak_within_1_3x_the_draws(tmp_path):
    """The run the issue lost (J = 300 groups: the summary of every group's coefficients, then the save)."""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", GROUPED, str(tmp_path / "h.npz")],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    draws, grown = map(int, out.stdout.split())
    assert draws > 300e6
    assert grown <= 1.3 * draws, f"sample + summary + save grew {grown / 1e6:.0f} MB for {draws / 1e6:.0f} MB"
