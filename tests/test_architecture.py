"""The layering rules of DESIGN.md, checked on the source: who may import whom.

Every import statement counts, including those inside functions: a lazy import is still a
dependency, it only hides the cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
DOMAINS = sorted(
    p.name
    for p in APP.iterdir()
    if p.is_dir() and (p / "__init__.py").exists() and p.name != "core"
)
# inside a domain: what a module may never import from its own package
NEVER_FROM_OWN_DOMAIN = {
    "models": {"service", "api", "views", "jobs", "schemas", "transitions", "conversation"},
    "service": {"api", "views", "jobs", "transitions", "conversation"},
}


def imports_of(path: Path) -> set[str]:
    """Every module name imported by ``path`` (``from a.b import c`` counts ``a.b`` and
    ``a.b.c``, since ``c`` may be a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize(
    "path",
    [p for d in [*DOMAINS, "core"] for p in python_files(APP / d)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_of_a_domain_imports_another_domains_api_or_views(path):
    own = path.relative_to(APP).parts[0]
    foreign = {
        name
        for name in imports_of(path)
        for domain in DOMAINS
        if domain != own and name in (f"app.{domain}.api", f"app.{domain}.views")
    }

    assert not foreign, f"{path.name} reaches into another domain's HTTP layer: {foreign}"


@pytest.mark.parametrize(
    "path",
    [
        APP / d / f"{m}.py"
        for d in DOMAINS
        for m in NEVER_FROM_OWN_DOMAIN
        if (APP / d / f"{m}.py").exists()
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_models_and_services_depend_on_nothing_built_on_them(path):
    domain, layer = path.parent.name, path.stem
    upward = {
        name
        for name in imports_of(path)
        for other in NEVER_FROM_OWN_DOMAIN[layer]
        if name == f"app.{domain}.{other}"
    }

    assert not upward, f"app/{domain}/{layer}.py imports what is built on it: {upward}"


@pytest.mark.parametrize(
    "path",
    [p for d in DOMAINS for p in python_files(APP / d) if p.stem in {"service", "models"}],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_services_never_touch_the_request(path):
    source = path.read_text()
    touched = [
        name
        for name in ("flask.request", "flask.g", "flask_login")
        if any(i == name or i.startswith(name + ".") for i in imports_of(path))
    ]
    touched += [w for w in ("from flask import request", "current_user") if w in source]

    assert not touched, f"{path.relative_to(ROOT)} reads the HTTP request: {touched}"


@pytest.mark.parametrize("path", python_files(APP / "core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_domain(path):
    domains = {
        name
        for name in imports_of(path)
        for domain in DOMAINS
        if name == f"app.{domain}" or name.startswith(f"app.{domain}.")
    }

    assert not domains, f"{path.relative_to(ROOT)} depends on a domain: {domains}"


@pytest.mark.parametrize("path", python_files(APP), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_in_the_application_imports_the_process_entry_points(path):
    entry_points = {name for name in imports_of(path) if name.split(".")[0] == "workers"}

    assert not entry_points, f"{path.relative_to(ROOT)} imports the job processes: {entry_points}"


def test_the_job_processes_stay_thin_entry_points():
    """``workers/`` parses arguments and starts the loops of ``app.core``; nothing more."""
    modules = {p.name for p in python_files(ROOT / "workers")}
    imported = {name for p in python_files(ROOT / "workers") for name in imports_of(p)}

    assert modules == {"__init__.py", "__main__.py"}
    assert "app.core.runtime" in imported
