"""Architecture rules that hold for every service, present and future."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


def package_of(service: Path) -> str:
    [package] = [p.name for p in (service / "src").iterdir() if p.is_dir() and p.name.startswith("crm_")]
    return package


def imported_roots(source: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_there_is_at_least_one_service() -> None:
    assert SERVICES, "no services found: the layout changed?"


def test_services_never_import_each_other() -> None:
    packages = {package_of(s): s for s in SERVICES}
    offences = []
    for package, service in packages.items():
        others = set(packages) - {package}
        for source in (service / "src").rglob("*.py"):
            for root in imported_roots(source) & others:
                offences.append(f"{source.relative_to(ROOT)} imports {root}")
    assert offences == []


def test_each_service_has_the_common_shape() -> None:
    for service in SERVICES:
        package = service / "src" / package_of(service)
        for part in ("domain", "application", "projections", "entrypoints", "bootstrap.py", "service.py"):
            assert (package / part).exists(), f"{service.name} lacks {part}"


def test_the_kernel_never_imports_a_service() -> None:
    packages = {package_of(s) for s in SERVICES}
    for source in (ROOT / "shared" / "src").rglob("*.py"):
        assert not imported_roots(source) & packages, source
