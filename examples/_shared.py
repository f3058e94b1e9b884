"""What every example shares: its command line, saving figures, section headers."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib.pyplot as plt


def argument_parser(doc: str, name: str, seed: int, quick_help: str = "few draws (runs in a few seconds)"):
    """--out, --quick, --seed and --dpi, the options every example takes."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join("figures", name), help="folder for the figures (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--seed", type=int, default=seed, help="seed of the data and the samplers (default: %(default)s)")
    ap.add_argument("--dpi", type=int, default=100, help="resolution of the PNG files (default: %(default)s)")
    return ap


def save(fig, out: Path, name: str, dpi: int) -> None:
    path = Path(out) / name
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print(f"  saved {path}")


def section(title: str) -> None:
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}")
