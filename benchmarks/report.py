"""The benchmark report as a script: ``python benchmarks/report.py [--quick] [--out DIR]``.

Same as ``gibbsreg bench``: times the Numba and NumPy backends in one run and writes
RESULTS.md and results.png (see gibbsreg.bench).
"""

import sys

from gibbsreg.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
