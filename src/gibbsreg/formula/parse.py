"""Splitting a mixed-model formula into its fixed part and its group terms (pure Python, no formulaic).

``y ~ x + (1 + x | g) + (1 || h) + (1 | a/b)`` becomes the response ``y``, the fixed
part ``x`` (handed to formulaic) and one :class:`GroupTerm` per grouping factor after
expanding nesting: ``(e | a/b)`` is ``(e | a) + (e | a:b)`` as in lme4.  The terms are
then merged per grouping factor into :class:`FactorSpec` values (``factor_specs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class GroupTerm:
    """One ``(expr | factor)`` term: ``expr`` is a formulaic formula of the varying columns.

    ``variables`` are the data columns whose combination defines the grouping factor
    (``("a", "b")`` for ``a:b``); ``independent`` is True for ``||``.
    """

    expr: str
    variables: tuple[str, ...]
    independent: bool
    text: str  # the term as written, for error messages

    @property
    def factor(self) -> str:
        """The grouping factor's name: its variables joined by ':' (lme4's naming)."""
        return ":".join(self.variables)


@dataclass
class ParsedFormula:
    """A formula split into response, fixed part and group terms (in the order written)."""

    formula: str
    response: str
    fixed: str
    group_terms: list[GroupTerm] = field(default_factory=list)


def _scan(text: str, formula: str):
    """Yield (index, char, depth) for characters outside quotes and backticks; checks bracket balance."""
    stack = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            end = text.find(ch, i + 1)
            if end < 0:
                raise ValueError(f"formula syntax error in {formula!r}: unclosed quote {ch} at position {i}")
            i = end + 1
            continue
        if ch in _OPEN:
            yield i, ch, len(stack)
            stack.append(ch)
        elif ch in _CLOSE:
            if not stack or stack[-1] != _CLOSE[ch]:
                raise ValueError(f"formula syntax error in {formula!r}: unmatched {ch!r} at position {i}")
            stack.pop()
            yield i, ch, len(stack)
        else:
            yield i, ch, len(stack)
        i += 1
    if stack:
        raise ValueError(f"formula syntax error in {formula!r}: unclosed {stack[-1]!r}")


def _top_level_bars(text: str, formula: str) -> list[tuple[int, int]]:
    """(start, length) of each '|' or '||' at depth 0 of text."""
    bars = []
    skip = False
    for i, ch, depth in _scan(text, formula):
        if skip:
            skip = False
            continue
        if ch == "|" and depth == 0:
            if i + 1 < len(text) and text[i + 1] == "|":
                bars.append((i, 2))
                skip = True
            else:
                bars.append((i, 1))
    return bars


def _grouping_variables(spec: str, term: str, formula: str) -> list[tuple[str, ...]]:
    """``g`` -> [(g,)], ``a:b`` -> [(a, b)], ``a/b`` -> [(a,), (a, b)] (nesting, as lme4)."""
    levels = []
    for part in spec.split("/"):
        names = []
        for name in part.split(":"):
            name = name.strip()
            if len(name) > 1 and name[0] == name[-1] == "`":
                name = name[1:-1]
            elif not _NAME.match(name):
                raise ValueError(f"group term {term!r} in {formula!r}: the grouping factor must be a column name, "
                                 f"a:b (an interaction) or a/b (nesting), got {spec.strip()!r}")
            if not name:
                raise ValueError(f"group term {term!r} in {formula!r} has an empty grouping factor")
            names.append(name)
        levels.append(names)
    out, prefix = [], []
    for names in levels:
        prefix = prefix + names
        out.append(tuple(prefix))
    return out


def parse_formula(formula: str) -> ParsedFormula:
    """Split ``formula`` into response, fixed part and group terms; syntax errors raise ValueError.

    Group terms are parenthesised, contain one top-level ``|`` or ``||`` and are added
    with ``+`` to the rest.  A fixed part left empty (``y ~ (1 | g)``) means ``1``.
    """
    if not isinstance(formula, str):
        raise ValueError(f"formula must be a string such as 'y ~ x + (1 | g)', got {type(formula).__name__}")
    tildes = [i for i, ch, depth in _scan(formula, formula) if ch == "~" and depth == 0]
    if len(tildes) != 1:
        raise ValueError(f"formula {formula!r} must have exactly one '~' between the response and the predictors")
    response = formula[: tildes[0]].strip()
    rhs = formula[tildes[0] + 1:]
    if not response:
        raise ValueError(f"formula {formula!r} has no response (left of '~')")
    if not rhs.strip():
        raise ValueError(f"formula {formula!r} has no predictors (right of '~'); write 'y ~ 1' for an intercept only")

    # depth-0 parenthesised spans of the right-hand side that contain a top-level bar
    spans, start = [], None
    for i, ch, depth in _scan(rhs, formula):
        if ch == "(" and depth == 0:
            start = i
        elif ch == ")" and depth == 0 and start is not None:
            inner = rhs[start + 1: i]
            if _top_level_bars(inner, formula):
                spans.append((start, i + 1))
            start = None
    outside = rhs
    for a, b in reversed(spans):
        outside = outside[:a] + " " * (b - a) + outside[b:]
    if "|" in "".join(ch for _, ch, depth in _scan(outside, formula) if depth == 0):
        raise ValueError(f"formula {formula!r}: a '|' outside parentheses; group terms are written (expr | group)")

    terms: list[GroupTerm] = []
    pieces, last = [], 0
    for a, b in spans:
        text = rhs[a:b].strip()
        before = rhs[last:a].rstrip()
        if before.endswith("+"):
            before = before[:-1]
        elif before.strip():
            raise ValueError(f"formula {formula!r}: the group term {text} must be added with '+' "
                             f"(found {before.strip()[-1]!r} before it)")
        pieces.append(before)
        last = b
        after = rhs[b:].lstrip()
        if after and after[0] not in "+-":
            raise ValueError(f"formula {formula!r}: the group term {text} must be followed by '+', '-' or the end "
                             f"(found {after[0]!r} after it)")
        inner = rhs[a + 1: b - 1]
        bars = _top_level_bars(inner, formula)
        if len(bars) != 1:
            raise ValueError(f"group term {text} in {formula!r} must have exactly one '|' or '||'")
        pos, width = bars[0]
        expr, grouping = inner[:pos].strip(), inner[pos + width:].strip()
        if not expr:
            raise ValueError(f"group term {text} in {formula!r} has nothing before the bar; write (1 | g)")
        if not grouping:
            raise ValueError(f"group term {text} in {formula!r} has no grouping factor after the bar")
        for variables in _grouping_variables(grouping, text, formula):
            terms.append(GroupTerm(expr, variables, width == 2, text))
    rest = rhs[last:]
    rest = rest.lstrip()
    if rest.startswith("+") and spans:
        rest = rest[1:]
    pieces.append(rest)
    fixed = " ".join(p.strip() for p in pieces if p.strip())
    fixed = re.sub(r"\s+", " ", fixed).strip()
    while fixed.startswith("+"):
        fixed = fixed[1:].strip()
    if not fixed:
        fixed = "1"
    return ParsedFormula(formula, response, fixed, terms)


@dataclass
class FactorSpec:
    """One grouping factor of the model: its varying columns and their covariance structure.

    ``covariance`` is "full" (one ``|`` term with several columns: a correlated
    covariance, InvWishart by default) or "diagonal" (``||``, a single column, or
    several terms of the same factor: independent coefficients, a tau per column).
    ``columns`` is filled in once the terms' expressions are materialised.
    """

    name: str
    variables: tuple[str, ...]
    terms: list[GroupTerm]
    columns: list[str] = field(default_factory=list)
    covariance: str = "diagonal"


def factor_specs(terms: list[GroupTerm], term_columns: list[list[str]]) -> list[FactorSpec]:
    """Merge group terms per grouping factor (in order of first appearance).

    ``term_columns[i]`` are the coefficient names of terms[i]'s expression.  Several
    terms of one factor, e.g. ``(1 | g) + (0 + x | g)``, are independent blocks (lme4);
    only blocks of one column each can be merged (a diagonal covariance), a correlated
    block next to another term of the same factor is refused.
    """
    specs: dict[str, FactorSpec] = {}
    widths: dict[str, list[int]] = {}
    for term, cols in zip(terms, term_columns):
        spec = specs.setdefault(term.factor, FactorSpec(term.factor, term.variables, []))
        spec.terms.append(term)
        for c in cols:
            if c in spec.columns:
                raise ValueError(f"the coefficient {c!r} varies by {term.factor} in two group terms "
                                 f"({', '.join(t.text for t in spec.terms)}); list it once")
        spec.columns.extend(cols)
        widths.setdefault(term.factor, []).append(len(cols))
    for name, spec in specs.items():
        if len(spec.terms) == 1:
            term = spec.terms[0]
            spec.covariance = "full" if not term.independent and len(spec.columns) > 1 else "diagonal"
            continue
        for term, width in zip(spec.terms, widths[name]):
            if not term.independent and width > 1:
                raise ValueError(
                    f"grouping factor {name!r} appears in several terms ({', '.join(t.text for t in spec.terms)}) "
                    f"and {term.text} has {width} correlated coefficients: block-diagonal covariances are not "
                    f"supported; merge them into one term (correlated) or use || (independent)")
        spec.covariance = "diagonal"
    return list(specs.values())
