"""The package's import graph (imports inside functions included) has no cycle, and the layers point down.

Layers, top to bottom (docs/architecture.md): the CLI and the user-level tools, then formula, then models,
then the runner, then io / store / diagnostics / analysis / plots, then kernels.  A lower layer reaches a
model only through gibbsreg.registry.
"""

import ast
from pathlib import Path

import gibbsreg

SRC = Path(gibbsreg.__file__).parent


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = ["gibbsreg", *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict:
    """module -> the gibbsreg modules it imports (anywhere in the file), read with ast."""
    files = {_module(p): p for p in SRC.rglob("*.py") if "kernels" not in p.relative_to(SRC).parts[:1]}
    graph = {}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            for name in names:
                while name and name not in files:
                    name = name.rsplit(".", 1)[0] if "." in name else ""
                if name and name != mod and not mod.startswith(name + "."):
                    targets.add(name)
        graph[mod] = targets
    return graph


def find_cycle(graph: dict):
    """One import cycle as a list of modules, or None (depth-first search with colours)."""
    colour, parent = {}, {}

    def visit(v):
        colour[v] = 1
        for w in sorted(graph.get(v, ())):
            if colour.get(w, 0) == 0:
                parent[w] = v
                found = visit(w)
                if found:
                    return found
            elif colour[w] == 1:
                cycle, u = [w], v
                while u != w:
                    cycle.append(u)
                    u = parent[u]
                return cycle[::-1]
        colour[v] = 2
        return None

    for v in sorted(graph):
        if colour.get(v, 0) == 0:
            found = visit(v)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 50
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle + cycle[:1])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


LOWER = ("gibbsreg.runner", "gibbsreg.io", "gibbsreg.store", "gibbsreg.diagnostics", "gibbsreg.analysis",
         "gibbsreg.plots", "gibbsreg.posterior", "gibbsreg.predict", "gibbsreg.sampling", "gibbsreg.runstate",
         "gibbsreg.registry", "gibbsreg.data", "gibbsreg.priors", "gibbsreg.reference")


def test_lower_layers_do_not_import_models_formula_or_cli():
    graph = import_graph()
    upper = ("gibbsreg.models", "gibbsreg.formula", "gibbsreg.cli")
    bad = {m: sorted(t for t in targets if t.startswith(upper))
           for m, targets in graph.items() if m.startswith(LOWER)}
    assert not {m: t for m, t in bad.items() if t}


def test_models_do_not_import_each_other_except_declared_reuse():
    """A model subpackage is a plug-in: it imports no other model (what several share lives below them, e.g.
    gibbsreg.coords, gibbsreg.group_terms)."""
    graph = import_graph()
    # declared reuse (subpackage -> subpackage): the row-weighted crossed kinds run the Gaussian crossed model's
    # design, priors and blocks, the binary model's latents and the Student-t model's prior keys; the
    # hierarchical Student-t kind takes the Gaussian hierarchical model's prior
    allowed = {("gibbsreg.models.crossedrows", "gibbsreg.models.crossed"),
               ("gibbsreg.models.crossedrows", "gibbsreg.models.binary"),
               ("gibbsreg.models.crossedrows", "gibbsreg.models.robust"),
               ("gibbsreg.models.robust", "gibbsreg.models.hierarchical")}
    for mod, targets in graph.items():
        if not mod.startswith("gibbsreg.models."):
            continue
        own = ".".join(mod.split(".")[:3])
        for t in targets:
            other = ".".join(t.split(".")[:3])
            if t.startswith("gibbsreg.models.") and not t.startswith(own) and (own, other) not in allowed:
                raise AssertionError(f"{mod} imports another model: {t}")


def test_pyproject_lists_every_package():
    """pyproject's explicit package list (kernels/ is mapped to gibbsreg.kernels) names every package folder,
    so a new subpackage cannot be left out of the installed wheel."""
    import re

    root = Path(__file__).resolve().parents[1]
    line = re.search(r"^packages = \[(.*)\]$", (root / "pyproject.toml").read_text(), flags=re.M).group(1)
    listed = set(re.findall(r'"([^"]+)"', line))
    found = {".".join(p.parent.relative_to(root / "src").parts) for p in (root / "src" / "gibbsreg").rglob("__init__.py")}
    found |= {"gibbsreg." + ".".join(p.parent.relative_to(root).parts) for p in (root / "kernels").rglob("__init__.py")}
    assert not {f for f in found if "__pycache__" not in f} - listed
