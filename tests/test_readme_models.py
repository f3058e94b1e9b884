"""Every model the README fits, run as the README writes it, converges at its defaults (issue 25): no
"the chains have not converged" warning, i.e. R-hat <= 1.01 and bulk and tail ESS >= 400 on every
population-level scalar (runner/chunks._warn_unconverged).  Each case quotes README lines verbatim, and
the test first checks that the README still holds them, so the two cannot drift apart.
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import gibbsreg as gr

README = Path(__file__).resolve().parents[1] / "README.md"

# name: (README lines run in order, the variable holding the Posterior checked)
CASES = {
    "radon_formula": ([
        'radon = gr.datasets.radon()',
        'model = gr.model("log_radon ~ floor_measure + log_uppm + (1 + floor_measure || county)", data=radon)',
        'post = model.sample(chains=4, draws=2000, seed=1)'], "post"),
    "boston_formula": ([
        'boston = gr.datasets.boston()',
        'post = gr.model("medv ~ lstat + rm + C(chas)", data=boston).sample(seed=1)'], "post"),
    "semiconjugate": ([
        'data = gr.datasets.synthetic_regression(n=10_000, p=10, seed=1)',
        'post = gr.LinearRegression(prior=gr.SemiConjugate(scale=10.0, a=2.0, b=1.0)).sample(\n'
        '    data.X, data.y, chains=4, draws=1000, warmup=1000, seed=42)'], "post"),
    "ridge": ([
        'data = gr.datasets.synthetic_regression(n=10_000, p=10, seed=1)',
        'ridge = gr.LinearRegression(gr.Exchangeable(tau=gr.HalfCauchy(1.0))).sample(data.X, data.y, seed=1)'],
        "ridge"),
    "hierarchical": ([
        'h = gr.datasets.synthetic_hierarchical(J=200, group_size=20, p=3, seed=2)',
        'prior = gr.HierarchicalPrior(tau=gr.InvGamma(1.0, 0.1))',
        'hpost = gr.HierarchicalRegression(prior, varying=["intercept", "x0"]).sample(h.X, h.y, h.groups, seed=3)'],
        "hpost"),
    "varying_intercept": ([
        'h = gr.datasets.synthetic_hierarchical(J=200, group_size=20, p=3, seed=2)',
        'icpt = gr.HierarchicalRegression(varying="intercept").sample(h.X, h.y, h.groups, seed=3)'], "icpt"),
    "crossed_pilots": ([
        'pilots = gr.datasets.pilots()',
        'post = gr.model("y ~ (1 | treatment) + (1 | airport)", data=pilots).sample(seed=1)'], "post"),
    "nested_radon": ([
        'radon = gr.datasets.radon_all()',
        'nested = gr.model("log_radon ~ log_uppm + (1 | county/floor)", data=radon.dropna().assign(floor=lambda d: '
        'd.floor_measure.astype(str))).sample(seed=1)'], "nested"),
    "student_hier": ([
        'radon = gr.datasets.radon()',
        't_hier = gr.model("log_radon ~ floor_measure + (1 | county)", data=radon, family="student").sample(seed=1)'],
        "t_hier"),
    "flat_exponential_sigma": ([
        'data = gr.datasets.synthetic_regression(n=10_000, p=10, seed=1)',
        'post = gr.LinearRegression(gr.SemiConjugate(sigma=gr.Exponential())).sample(data.X, data.y, seed=1)'], "post"),
    "flat_weights": ([
        'data = gr.datasets.synthetic_regression(n=10_000, p=10, seed=1)',
        'post = gr.LinearRegression().sample(data.X, data.y, weights=np.full(len(data.y), 2.0), seed=1)'], "post"),
    "nested_probit": ([
        'high = gr.datasets.radon_all().dropna().assign(high=lambda d: (d.log_radon > 1.5).astype(int), '
        'floor=lambda d: d.floor_measure.astype(str))',
        'post = gr.model("high ~ log_uppm + (1 | county/floor)", data=high, family="bernoulli", link="probit")'
        '.sample(draws=2000, seed=1)'], "post"),
    "student": ([
        'boston = gr.datasets.boston()',
        't_fit = gr.model("medv ~ lstat + rm", data=boston, family="student").sample(seed=1)'], "t_fit"),
    "gaussian_boston": ([
        'boston = gr.datasets.boston()',
        'gauss = gr.model("medv ~ lstat + rm", data=boston).sample(seed=1)'], "gauss"),
    "halfnormal_radon": ([
        'radon = gr.datasets.radon()',
        'prior = gr.HierarchicalPrior(tau=gr.HalfNormal(1.0), sigma=gr.Exponential(1.0))',
        'post = gr.model("log_radon ~ floor_measure + (1 | county)", data=radon, prior=prior).sample(seed=1)'],
        "post"),
    "logistic_kidiq": ([
        'kid = gr.datasets.kidiq()',
        'b_fit = gr.model("mom_hs ~ kid_score + mom_iq", data=kid, family="bernoulli", link="logit").sample(seed=1)'],
        "b_fit"),
}


def _readme_lines() -> set:
    text = README.read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    return {line.split("  #")[0].rstrip() for line in code.splitlines()}, code


def test_the_cases_quote_the_readme():
    lines, code = _readme_lines()
    for name, (statements, _) in CASES.items():
        for stmt in statements:
            # a README expression whose value the case names: "post = " added here, the rest verbatim
            quoted = stmt if stmt in code else re.sub(r"^\w+ = ", "", stmt)
            present = quoted in code if "\n" in quoted else quoted in lines
            assert present, f"{name}: the README no longer says {stmt!r}: update tests/test_readme_models.py"


@pytest.mark.parametrize("name", sorted(CASES))
def test_readme_model_converges_at_its_defaults(name):
    statements, var = CASES[name]
    scope = {"gr": gr, "np": np}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for stmt in statements:
            exec(stmt, scope)
    unconverged = [str(w.message) for w in caught if "have not converged" in str(w.message)]
    assert not unconverged, f"{name}: {unconverged[0]}"
    assert isinstance(scope[var], gr.Posterior)
