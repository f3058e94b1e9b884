"""Run every script in examples/ in quick mode and check that it writes its figures.

Each example runs in-process (``runpy.run_path`` with ``sys.argv`` patched), so the
Numba kernels compiled for one are reused by the next, and writes into ``tmp_path``.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import matplotlib  # noqa: F401  (a dependency; the examples select its Agg backend)
import pandas  # noqa: F401  (a test extra: the real-data examples use DataFrames)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MIN_BYTES = 5 * 1024

# example -> (glob patterns of the figures it must write, phrases its printout must contain)
CASES = {
    "wide_boston": (["shrinkage_profile.png"], ["interval excludes zero", "kappa", "held-out", "horseshoe"]),
    "flat_synthetic": (
        ["closed_form_vs_gibbs.png", "trace.png", "autocorrelation.png", "density.png", "predictive_band_*.png",
         "ppc_density.png", "ppc_statistics.png"],
        ["log evidence", "Truth vs closed form vs Gibbs", "Posterior predictive check"],
    ),
    "flat_boston": (
        ["ols_vs_bayes_intervals.png", "forest_slopes.png", "prior_sensitivity.png", "ppc_density.png",
         "ppc_statistics_censoring.png", "predictive_band_lstat.png"],
        ["censored at 50", "column B", "OLS vs", "log_evidence", "count(y >= 50)"],
    ),
    "hierarchical_radon": (
        ["shrinkage_intercepts.png", "forest_county_intercepts.png", "shrinkage_varying_slope.png",
         "ppc_density.png", "ppc_statistics.png", "predictive_counties.png", "predictive_band_county_*.png"],
        ["tau2[intercept]", "alpha[floor_measure]", "new county", "centered", "asis"],
    ),
    "radon_loo": (
        ["loo_compare.png", "pareto_k.png", "ppc_best.png"],
        ["elpd_loo", "complete pooling", "no pooling", "varying intercept and slope", "Pareto k",
         "Leave one county out"],
    ),
    "diagnostics_gallery": (
        ["flat_trace.png", "flat_rank.png", "flat_autocorr.png", "flat_density.png", "flat_forest.png",
         "hier_poor_vs_good.png", "hier_centred_poor_trace.png", "hier_centred_poor_rank.png",
         "hier_centred_poor_autocorr.png", "hier_asis_good_trace.png", "hier_asis_good_rank.png",
         "hier_asis_good_autocorr.png", "hier_asis_good_density.png", "hier_asis_good_forest.png"],
        ["R-hat", "ESS bulk"],
    ),
    "crossed_pilots": (
        ["forest_treatment.png", "forest_airport.png", "variance_components.png"],
        ["tau2_airport", "plain", "blocked", "new airport"],
    ),
    "crossed_radon_all": (
        ["forest_county.png", "forest_floor.png", "county_shrinkage.png"],
        ["code 9 = missing", "same-named counties", "b_floor[missing,intercept]", "new county", "blocked"],
    ),
    "convergence_many_chains": (
        ["convergence_no_warmup.png", "convergence_warmup_*.png", "trace_no_warmup_*_chains.png",
         "rank_heatmap_warmup_64_chains.png", "convergence_flat_no_warmup.png"],
        ["nested_rhat", "ess_bulk", "64"],
    ),
}


def test_every_example_is_covered():
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(CASES), f"examples without a test case (or cases without a script): {scripts ^ set(CASES)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs_in_quick_mode(name, tmp_path, monkeypatch, capsys):
    import matplotlib.pyplot as plt

    plt.close("all")  # figures another test left open are not this example's
    script = EXAMPLES / f"{name}.py"
    out = tmp_path / name
    monkeypatch.setattr(sys, "argv", [str(script), "--quick", "--out", str(out), "--seed", "3"])
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out
    assert not plt.get_fignums(), f"{name} left figures open"

    patterns, phrases = CASES[name]
    for pattern in patterns:
        found = sorted(out.glob(pattern))
        assert found, f"{name} wrote no {pattern} (wrote {sorted(p.name for p in out.iterdir())})"
        for path in found:
            size = path.stat().st_size
            assert size > MIN_BYTES, f"{path.name} is only {size} bytes"
            with open(path, "rb") as fh:
                assert fh.read(8) == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG file"
    for phrase in phrases:
        assert phrase in printed, f"{name}'s output lacks {phrase!r}"


def test_examples_accept_help(monkeypatch, capsys):
    """--help documents --out, --quick and --seed and exits cleanly."""
    for name in sorted(CASES):
        script = EXAMPLES / f"{name}.py"
        monkeypatch.setattr(sys, "argv", [str(script), "--help"])
        with pytest.raises(SystemExit) as exc:
            runpy.run_path(str(script), run_name="__main__")
        assert exc.value.code == 0
        text = capsys.readouterr().out
        for option in ("--out", "--quick", "--seed"):
            assert option in text, f"{name} --help lacks {option}"
