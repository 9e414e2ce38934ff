"""The UI's static files as the gateway serves them (no browser needed)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from crm_gateway.ui import STATIC_DIR, ui_router


def client_of(router_dir: Path = STATIC_DIR) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(ui_router(router_dir))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm.test")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_of() as c:
        yield c


async def test_the_page_and_its_modules_are_served_with_their_types(client: httpx.AsyncClient) -> None:
    index = await client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/ui/js/app.js">' in index.text
    assert (await client.get("/ui/js/app.js")).headers["content-type"] == "text/javascript; charset=utf-8"
    assert (await client.get("/ui/css/app.css")).headers["content-type"] == "text/css; charset=utf-8"
    assert (await client.get("/ui/icon.svg")).headers["content-type"] == "image/svg+xml"
    plain = {"Accept-Encoding": "identity"}
    head = await client.head("/ui/js/app.js", headers=plain)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == (STATIC_DIR / "js" / "app.js").stat().st_size


async def test_text_is_sent_compressed_to_browsers_that_accept_it(client: httpx.AsyncClient) -> None:
    raw = await client.get("/ui/js/core/api.js", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["vary"] == "Accept-Encoding"
    assert raw.content == (STATIC_DIR / "js" / "core" / "api.js").read_bytes()  # httpx decoded it
    assert int(raw.headers["content-length"]) < len(raw.content)
    plain = await client.get("/ui/js/core/api.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["etag"] != raw.headers["etag"]  # two representations, two strong ETags
    assert plain.content == raw.content


async def test_files_are_revalidated_and_unchanged_ones_answer_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/ui/js/core/api.js")
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get("/ui/js/core/api.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    changed = await client.get("/ui/js/core/api.js", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200


async def test_responses_forbid_inline_script_and_other_origins(client: httpx.AsyncClient) -> None:
    index = await client.get("/")
    policy = index.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert index.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../__init__.py",
        "/ui/%2e%2e/__init__.py",
        "/ui/..%2f__init__.py",
        "/ui/js/..%2f..%2f__init__.py",
        "/ui//etc/passwd",
        "/ui/js",
        "/ui/js/",
        "/ui/__init__.py",
        "/ui/missing.js",
        "/ui/js/app.js%00.css",
    ],
)
async def test_nothing_outside_the_static_folder_is_reachable(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_only_ui_files_inside_the_folder_are_served(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / ".secret.js").write_text("hidden")
    (tmp_path / "notes.py").write_text("not a UI file")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.js"
    outside.write_text("outside")
    (tmp_path / "link.js").symlink_to(outside)
    async with client_of(tmp_path) as client:
        assert (await client.get("/")).status_code == 200
        for name in (".secret.js", "notes.py", "link.js"):
            assert (await client.get(f"/ui/{name}")).status_code == 404, name


def test_no_file_names_another_host() -> None:
    # No CDN, no web fonts, no analytics: the UI must work without the internet.
    external = re.compile(r"(?:https?:)?//(?!www\.w3\.org/2000/svg)[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            found = external.findall(path.read_text(encoding="utf-8"))
            assert not found, f"{path.relative_to(STATIC_DIR)} names {found}"


def test_every_text_has_both_languages() -> None:
    def keys(language: str) -> set[str]:
        text = (STATIC_DIR / "js" / "core" / "i18n" / f"{language}.js").read_text(encoding="utf-8")
        return set(re.findall(r"^\s*'([^']+)':", text, re.MULTILINE))

    assert keys("bg") == keys("en")
    assert len(keys("en")) > 50


JS = STATIC_DIR / "js"
FEATURES = JS / "features"


def feature_folders() -> list[Path]:
    return sorted(path for path in FEATURES.iterdir() if path.is_dir())


def relative_imports(module: Path) -> list[Path]:
    """The files ``module`` imports (static ``from '...'``, bare ``import '...'`` and ``import('...')``)."""
    text = module.read_text(encoding="utf-8")
    specs = re.findall(r"""(?:\bfrom\s+|^import\s+|\bimport\s*\(\s*)'(\.{1,2}/[^']+)'""", text, re.MULTILINE)
    return [(module.parent / spec).resolve() for spec in specs]


def test_every_feature_is_listed_and_registers_each_of_its_pages() -> None:
    listing = (FEATURES / "index.js").read_text(encoding="utf-8")
    assert feature_folders(), "no features"
    for folder in feature_folders():
        assert f"'./{folder.name}/feature.js'" in listing, f"features/index.js does not list {folder.name}"
        manifest = (folder / "feature.js").read_text(encoding="utf-8")
        listed = re.search(r"^\s*pages:\s*\[(.*?)\]", manifest, re.MULTILINE | re.DOTALL)
        assert listed, f"{folder.name}/feature.js has no pages list"
        for module in folder.rglob("*.js"):
            if not re.search(r"^export const path = ", module.read_text(encoding="utf-8"), re.MULTILINE):
                continue
            name = module.relative_to(folder).as_posix()
            imported = re.search(rf"^import \* as (\w+) from '\./{re.escape(name)}';", manifest, re.MULTILINE)
            assert imported, f"{name} is a page but {folder.name}/feature.js does not import it"
            assert re.search(rf"\b{imported[1]}\b", listed[1]), f"{name} is not in the pages of {folder.name}"


def test_core_imports_no_feature_and_a_feature_only_core_and_itself() -> None:
    core = (JS / "core").resolve()
    for module in JS.rglob("*.js"):
        folder = module.parent.resolve()
        for target in relative_imports(module):
            where = f"{module.relative_to(JS)} imports {target.relative_to(JS.resolve())}"
            assert target.is_file(), where
            if folder.is_relative_to(core):
                assert target.is_relative_to(core), where
            elif folder.is_relative_to(FEATURES.resolve()) and folder != FEATURES.resolve():
                own = FEATURES.resolve() / module.relative_to(FEATURES).parts[0]
                assert target.is_relative_to(core) or target.is_relative_to(own), where
