"""A first run compiles the diagnostics (and, for the demo, the hierarchical kernel) in a second process, into
the per-user cache and never into the package; a marker says it is done, after which nothing is started."""

import os
import subprocess
import sys
from pathlib import Path

import gibbsreg

FIRST_RUN = """
import warnings; warnings.simplefilter("ignore")
import gibbsreg as gr
from gibbsreg.kernels import warm
d = gr.datasets.synthetic_regression(100, 2, seed=0)
post = gr.LinearRegression().sample(d.X, d.y, chains=2, draws=50, warmup=10, seed=0, progress=False)
print(post.summary().row("sigma2")["r_hat"] > 0, sorted(warm._STARTED))
"""


def test_first_run_compiles_diagnostics_in_the_background_into_the_user_cache(tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, GIBBSREG_CACHE_DIR=str(cache))
    env.pop("NUMBA_CACHE_DIR", None)
    env.pop("GIBBSREG_NO_WARM", None)
    package = Path(gibbsreg.__file__).parent
    before = set(package.rglob("*.nbi"))
    out = subprocess.run([sys.executable, "-c", FIRST_RUN], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "True" and "diagnostics" in out.stdout
    markers = list(cache.glob("diagnostics-*.compiled"))
    assert len(markers) == 1
    assert any(cache.rglob("*block_stats-*.nbi")), sorted(p.name for p in cache.rglob("*"))[:20]
    assert set(package.rglob("*.nbi")) == before  # no JIT cache written beside the sources
    # compiled: a second process starts nothing, and the hierarchical target works the same way
    out = subprocess.run([sys.executable, "-m", "gibbsreg.kernels.warm", "hierarchical"], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert len(list(cache.glob("hierarchical-*.compiled"))) == 1
    code = ("from gibbsreg.kernels import warm; warm.start('diagnostics'); warm.start('hierarchical'); "
            "print(len(warm._PROCESSES))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "0", out.stderr


def test_progress_line_says_when_the_first_call_compiles(capsys):
    """A first kernel call that lasts (a cold cache) is announced on the progress line; a quick one is not."""
    import time

    from gibbsreg.sampling import Progress

    bar = Progress(100, enabled=False)
    bar.enabled = True  # as on a terminal
    with bar.first_call(after=0.05):
        time.sleep(0.01)
    assert "compiling" not in capsys.readouterr().err
    with bar.first_call(after=0.05):
        time.sleep(0.7)
    err = capsys.readouterr().err
    assert "compiling kernels (first run only, cached afterwards)" in err
    assert err.endswith("\r")  # cleared before the bar redraws
