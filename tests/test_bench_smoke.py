"""Smoke run of the benchmark report (tiny sizes): it runs end to end and writes its table and plot.

Timings are never asserted here; the report's own guard checks the backends agree.
"""

from gibbsreg.cli import main


def test_bench_smoke_writes_results(tmp_path):
    assert main(["bench", "--smoke", "--no-peers", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "W1 flat-small" in text and "| numba draws/s |" in text
    assert "**NO**" not in text  # both backends agree on every workload
    assert (tmp_path / "results.png").stat().st_size > 10_000
