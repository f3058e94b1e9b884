"""A summary's peak memory is a bounded block, not a multiple of the draws (issue 25 item 3).

Each case runs in a fresh process that first summarises a tiny posterior (the kernels loaded), then
fills a few hundred MB of draws in place and measures how far the peak resident set grows while the
summary, its printout (and, for many parameters, a convergence grid) run: at most 0.3 x the draws + 64 MB, plus, for chains
so long that one parameter's draws are large, one thread's work space for one parameter (the rank
table and the sort's rows: 60 bytes a draw of one parameter).
"""

import subprocess
import sys

import pytest

SCRIPT = r"""
import resource, sys
import numpy as np
from gibbsreg.convergence import convergence_grid
from gibbsreg.posterior import Posterior

def peak():  # bytes: macOS reports ru_maxrss in bytes, Linux in kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)

def posterior(chains, draws, shape, rng):
    beta = np.empty((chains, draws) + shape)
    for c in range(chains):  # filled in place: no temporary raises the peak before the summary
        for d in range(0, draws, 1000):
            rng.standard_normal(out=beta[c, d:d + 1000])
    return Posterior({"beta": beta, "sigma2": rng.random((chains, draws))}, dims={"beta": ["group", "coef"]})

rng = np.random.default_rng(0)
str(posterior(2, 40, (3, 2), rng)), convergence_grid(posterior(4, 40, (3, 2), rng))  # load the kernels
mode = sys.argv[1]
post = posterior(4, 4_000, (300, 5), rng) if mode == "groups" else posterior(2, 1_000_000, (10,), rng)
base = peak()
text = str(post)  # the summary (group-level values collapsed) and its printout
assert "collapsed" in text or mode != "groups"
assert str(post) == text  # computed once
if mode == "groups":  # every variable at once, without a stacked copy
    convergence_grid(post, superchains=2)
print(post["beta"].nbytes, post.nchains * post.ndraws, peak() - base)
"""


def _grown(mode):
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT, mode], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return map(int, out.stdout.split())


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no resource module to read the peak resident set")
@pytest.mark.parametrize("mode", ["groups", "long"])
def test_summary_peak_is_a_bounded_block(mode):
    draws, per_param, grown = _grown(mode)
    assert draws > 150e6
    bound = 0.3 * draws + 64e6 + (60 * per_param if mode == "long" else 0)
    assert grown <= bound, f"{mode}: the summary grew {grown / 1e6:.0f} MB for {draws / 1e6:.0f} MB of draws"
