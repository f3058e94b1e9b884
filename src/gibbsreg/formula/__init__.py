"""Formulas on data frames: ``gibbsreg.model("y ~ x + C(c) + (1 + x | g)", data=df)``.

Needs the optional extra ``pip install "gibbsreg[formula]"`` (formulaic and pandas); importing
this subpackage does not import them, calling it does.  See docs/formulas.md.
"""

from ..registry import register_encoder
from .design import INSTALL_HINT, FormulaDesign, build_design, newdata_rows
from .model import FormulaModel, default_group_covariance, factor_arguments, model
from .parse import FactorSpec, GroupTerm, ParsedFormula, factor_specs, parse_formula

register_encoder("formula", newdata_rows)

__all__ = [
    "INSTALL_HINT",
    "FactorSpec",
    "FormulaDesign",
    "FormulaModel",
    "GroupTerm",
    "ParsedFormula",
    "build_design",
    "default_group_covariance",
    "factor_arguments",
    "factor_specs",
    "model",
    "newdata_rows",
    "parse_formula",
]
