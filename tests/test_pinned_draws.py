"""Draws of every model and both backends stay what they were when pinned (tests/draw_fixtures.py).

On the machine and library versions that pinned them the draws must be bit for bit the same; on
another CPU or LAPACK the last bits of a basis or a vector sum may differ, so there the draws must
agree to 1e-9 relative (a short chain does not amplify rounding by more than that).
"""

import json

import numpy as np
import pytest

from draw_fixtures import HERE, arrays, cases, digest, machine

PINNED = json.loads((HERE / "digests.json").read_text())
SAME_MACHINE = PINNED["machine"] == machine()


@pytest.mark.parametrize("name", sorted(cases()))
def test_draws_are_pinned(name):
    draws = arrays(cases()[name]())
    with np.load(HERE / f"{name}.npz") as saved:
        assert sorted(saved.files) == sorted(draws)
        for k in saved.files:
            assert draws[k].dtype == saved[k].dtype and draws[k].shape == saved[k].shape, k
            np.testing.assert_allclose(draws[k], saved[k], rtol=1e-9, atol=1e-12, err_msg=f"{name}: {k}")
    if SAME_MACHINE:
        assert digest(draws) == PINNED["digests"][name]
