"""Adding a service is one line in the registry (``crm.services``) plus its workspace entry: the
tools that need static lists (import rules, mypy, the workspace) are checked here against the folders
under ``services/``, so a service missing from any of them fails instead of going unchecked."""

from __future__ import annotations

import configparser
import re
import subprocess
import tomllib
from pathlib import Path

from tests.architecture.test_service_boundaries import ROOT, SERVICES, package_of

from crm import services


def folders() -> dict[str, str]:
    """``{service name: its package}`` for every folder under ``services/``."""
    return {service.name: package_of(service) for service in SERVICES}


def lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_every_service_folder_is_in_the_registry_and_nothing_else_is() -> None:
    registered = {service.name: service for service in services.everything()}
    missing = sorted(set(folders()) - set(registered))
    assert not missing, f"services/{', services/'.join(missing)} not in src/crm/services.py"
    assert sorted(registered) == sorted(folders()), "src/crm/services.py names a service with no folder"
    assert len(registered) == len(services.everything()), "a service is registered twice"
    for name, package in folders().items():
        # The registered object is the one the service's top layer exposes, not a copy made elsewhere.
        assert type(registered[name]).__module__ == f"{package}.service", name
        assert (ROOT / "services" / name / "src" / package / "service.py").is_file(), name


def test_no_two_services_own_one_route_prefix() -> None:
    owners: dict[str, str] = {}
    for service in services.everything():
        assert service.prefixes, f"{service.name} owns no prefix under /api/v1"
        for prefix in service.prefixes:
            assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", prefix), f"{service.name}: {prefix!r} is not one path segment"
            assert prefix not in owners, f"/api/v1/{prefix} claimed by {owners[prefix]} and {service.name}"
            owners[prefix] = service.name
    assert services.forwarding_table() == {s.name: s.prefixes for s in services.BEHIND}


def test_the_import_rules_cover_every_service() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    root_packages = lines(config["importlinter"]["root_packages"])
    pure = config["importlinter:contract:domain-is-pure"]
    kernel = config["importlinter:contract:kernel-knows-no-service"]
    layered = config["importlinter:contract:layers"]
    assert lines(layered["layers"])[0] == "service", "the service object is the top layer of every service"
    for name, package in folders().items():
        assert package in root_packages, f"{name}: {package} not in root_packages"
        assert f"{package}.domain" in lines(pure["source_modules"]), f"{name}: its domain is not checked for purity"
        for layer in ("service", "entrypoints", "application", "projections"):
            assert f"{package}.{layer}" in lines(pure["forbidden_modules"]), f"{name}: domain may import {layer}"
        assert package in lines(kernel["forbidden_modules"]), f"{name}: the kernel may import {package}"
        assert package in lines(layered["containers"]), f"{name}: its layers are not checked"


def test_mypy_checks_every_service() -> None:
    planned = subprocess.run(["make", "-n", "lint"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    [mypy] = [line.split() for line in planned.splitlines() if line.startswith("uv run mypy ")]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for name in folders():
        source = f"services/{name}/src"
        assert source in mypy, f"make lint does not type-check {source}"
        assert source in pyproject["tool"]["mypy"]["mypy_path"], f"{source} not in [tool.mypy] mypy_path"


def test_the_workspace_has_every_service() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = {re.split(r"[\s<>=!~\[;]", d, maxsplit=1)[0] for d in pyproject["project"]["dependencies"]}
    sources = pyproject["tool"]["uv"]["sources"]
    first_party = pyproject["tool"]["ruff"]["lint"]["isort"]["known-first-party"]
    for name, package in folders().items():
        member = tomllib.loads((ROOT / "services" / name / "pyproject.toml").read_text(encoding="utf-8"))
        distribution = member["project"]["name"]
        assert distribution in dependencies, f"{distribution} is not a dependency of the crm project"
        assert sources.get(distribution) == {"workspace": True}, f"{distribution} not in [tool.uv.sources]"
        assert package in first_party, f"{package} not in ruff's known-first-party"


def test_the_registry_is_read_from_one_place() -> None:
    """The launcher names no service: it reads the registry (and the gateway, as the front door)."""
    for module in ("system.py", "cli.py"):
        source = (ROOT / "src" / "crm" / module).read_text(encoding="utf-8")
        for name, package in folders().items():
            if name == services.FRONT.name:
                continue
            assert f"{package}.service" not in source, f"src/crm/{module} imports {package}.service itself"
    assert Path(services.__file__).name == "services.py"


def test_the_background_process_finds_each_service_it_may_run_as_the_registry_has_it() -> None:
    from crm.background import apart, service_named

    assert apart(services.BEHIND), "no service runs in crm up's background process"
    for service in services.everything():
        if service.background_apart:
            assert service_named(service.name) is service, service.name
