"""The peers' rows of the bench report (R MCMCpack and bayesm, NumPyro NUTS), as data.

The peers are measured by ``python benchmarks/peers.py``, which writes ``peers.json`` beside RESULTS.md;
``gibbsreg bench`` reads that file when it is there, and otherwise shows the rows recorded below, marked
*recorded*.
"""

from __future__ import annotations

import json
from pathlib import Path

# The last measurements of the peers on this machine (2 cores; R 4 with MCMCpack 1.6.3 and bayesm 3.1.5,
# NumPyro 0.22.0), shown when a tool is not installed so that the per-core comparison stays in the report.
RECORDED = [
    {"tool": "R MCMCpack::MCMCregress", "version": "1.6.3", "workload": "W1 flat-small", "cores": 1,
     "draws_per_s": 106_838, "ess_per_s": 104_330, "note": "same data and prior; 1 chain"},
    {"tool": "R bayesm::runiregGibbs", "version": "3.1.5", "workload": "W1 flat-small", "cores": 1,
     "draws_per_s": 145_349, "ess_per_s": 141_658, "note": "same data and prior; 1 chain"},
    {"tool": "NumPyro NUTS", "version": "0.22.0", "workload": "W1 flat-small", "cores": 2,
     "draws_per_s": 3_615, "ess_per_s": 6_589, "note": "4 chains vectorised on the CPU, sampling only, same priors"},
    {"tool": "NumPyro NUTS", "version": "0.22.0", "workload": "W3 hier", "cores": 2,
     "draws_per_s": 382, "ess_per_s": 453, "note": "4 chains vectorised on the CPU, sampling only, same priors"},
    {"tool": "R MCMCpack::MCMChregress", "version": "1.6.3", "workload": "W3 hier", "cores": 1,
     "draws_per_s": 334, "ess_per_s": 242, "note": "full IW covariance of random effects; 1 chain"},
    {"tool": "R bayesm::rhierLinearModel", "version": "3.1.5", "workload": "W3 hier", "cores": 1,
     "compare": "W3b hier, bayesm's model", "draws_per_s": 5_800, "ess_per_s": 4_763,
     "note": "W3's data; per-group noise variances and IW covariance (W3b's model), bayesm's default priors; 1 chain"},
]


def peer_rows(out_dir) -> list[dict]:
    """The peers' rows: those measured into ``out_dir/peers.json``, and a recorded row for each (tool, workload)
    not measured there."""
    path = Path(out_dir) / "peers.json"
    measured = json.loads(path.read_text()) if path.exists() else []
    done = {(r["tool"], r["workload"]) for r in measured if r.get("draws_per_s") is not None}
    rows = [r for r in measured if r.get("draws_per_s") is not None]
    rows += [dict(r, recorded=True) for r in RECORDED if (r["tool"], r["workload"]) not in done]
    return rows
