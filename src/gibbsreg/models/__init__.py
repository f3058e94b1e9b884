"""The model kinds, one subpackage each; importing this package registers them (gibbsreg.registry).

Adding a model: a subpackage here whose ``__init__`` calls ``register(ModelKind(...))``, and one line
below (docs/architecture.md, "How to add a model").
"""

from . import binary, conjugate, crossed, flat, hierarchical, robust
from . import crossedrows  # after crossed and binary, whose designs, priors and latents it runs
from . import wide  # after flat: it asks the registry for flat's LinearRegression

__all__ = ["binary", "conjugate", "crossed", "crossedrows", "flat", "hierarchical", "robust", "wide"]
