"""Kernels of the Student-t regression: the sweep (sweep.py, stream layout in its docstring) and the
degrees-of-freedom step (nu.py, shared with the NumPy twin)."""
