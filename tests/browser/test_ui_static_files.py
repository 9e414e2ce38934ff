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


VENDOR = STATIC_DIR / "vendor"
LICENCE_BANNER = re.compile(r"/\*!.*?\*/", re.DOTALL)
"""A ``/*! … */`` comment: a vendored file's licence banner (name, home page, copyright), kept as published."""


def test_no_file_names_another_host() -> None:
    # No CDN, no web fonts, no analytics: the UI must work without the internet. A vendored file
    # (scripts/vendor-ui.sh) may name its home page in its licence banner, and nowhere else.
    external = re.compile(r"(?:https?:)?//(?!www\.w3\.org/2000/svg)[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if path.is_relative_to(VENDOR):
                text = LICENCE_BANNER.sub("", text)
            found = external.findall(text)
            assert not found, f"{path.relative_to(STATIC_DIR)} names {found}"


def test_each_vendored_file_comes_with_its_licence_and_needs_no_eval() -> None:
    # One folder per package (scripts/vendor-ui.sh), its licence beside it; the CSP has no
    # 'unsafe-eval', so a library that builds code from strings would break in the browser.
    folders = [path for path in VENDOR.iterdir() if path.is_dir()]
    assert folders, "nothing vendored"
    for folder in folders:
        assert any(path.name.upper().startswith("LICENSE") for path in folder.iterdir()), folder.name
        for script in folder.glob("*.js"):
            code = LICENCE_BANNER.sub("", script.read_text(encoding="utf-8"))
            assert not re.search(r"\bnew Function\(|\beval\(", code), script.name


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
    # Vendored libraries (static/vendor/) are loaded by core/ only (core/charts.js), never by a feature.
    core = (JS / "core").resolve()
    vendor = VENDOR.resolve()
    for module in JS.rglob("*.js"):
        folder = module.parent.resolve()
        for target in relative_imports(module):
            where = f"{module.relative_to(JS)} imports {target.relative_to(STATIC_DIR.resolve())}"
            assert target.is_file(), where
            if folder.is_relative_to(core):
                assert target.is_relative_to(core) or target.is_relative_to(vendor), where
            elif folder.is_relative_to(FEATURES.resolve()) and folder != FEATURES.resolve():
                own = FEATURES.resolve() / module.relative_to(FEATURES).parts[0]
                assert target.is_relative_to(core) or target.is_relative_to(own), where


# -- texts: the core's dictionaries and each feature's, merged by core/i18n.js ----------------------

LANGUAGES = ("bg", "en")
KEY = re.compile(r"^\s*(['\"])([^'\"]+)\1\s*:", re.MULTILINE)
KEY_LIKE = re.compile(r"""(['"])([a-z][A-Za-z0-9]*(?:\.[A-Za-z0-9_:-]+)+)\1""")
KEY_PREFIX = re.compile(r"`([a-z][A-Za-z0-9]*(?:\.[A-Za-z0-9_:-]+)*\.)\$\{")
TRANSLATE_CALL = re.compile(r"""\b(?:t|has|tr)\(\s*(['"])([^'"]+)\1""")


def dictionary_folders() -> dict[str, Path]:
    """Where each owner keeps its texts: ``core`` and every feature by its folder name."""
    return {"core": JS / "core" / "i18n"} | {folder.name: folder / "i18n" for folder in feature_folders()}


def dictionary(owner: str, language: str) -> list[str]:
    """The keys of one dictionary file, in order (duplicates kept, so a test can see them)."""
    text = (dictionary_folders()[owner] / f"{language}.js").read_text(encoding="utf-8")
    return [match[2] for match in KEY.finditer(text)]


def owner_of(module: Path) -> str:
    """The feature a module belongs to; the shell, core/ and features/index.js are ``core``."""
    parts = module.relative_to(JS).parts
    return parts[1] if parts[0] == "features" and len(parts) > 2 else "core"


def without_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"(^|\s)//.*$", r"\1", text, flags=re.MULTILINE)


def test_every_text_has_both_languages() -> None:
    for owner in dictionary_folders():
        keys = {language: dictionary(owner, language) for language in LANGUAGES}
        for language, found in keys.items():
            twice = sorted({key for key in found if found.count(key) > 1})
            assert not twice, f"{owner}/i18n/{language}.js has {twice} twice"
        bg, en = set(keys["bg"]), set(keys["en"])
        assert bg == en, f"{owner}: only in bg.js {sorted(bg - en)}, only in en.js {sorted(en - bg)}"
        assert en, f"{owner}/i18n/en.js has no texts"
    assert sum(len(dictionary(owner, "en")) for owner in dictionary_folders()) > 50


def test_a_text_belongs_to_one_dictionary_and_each_feature_brings_its_own() -> None:
    seen: dict[str, str] = {}
    for owner in dictionary_folders():
        for key in dictionary(owner, "en"):
            assert key not in seen, f"'{key}' is in both {seen[key]} and {owner}: the second is ignored"
            seen[key] = owner
    for folder in feature_folders():
        manifest = (folder / "feature.js").read_text(encoding="utf-8")
        for language in LANGUAGES:
            assert f"from './i18n/{language}.js'" in manifest, f"{folder.name}/feature.js does not load {language}.js"
        assert re.search(r"^\s*messages:\s*\{\s*bg,\s*en\s*\}", manifest, re.MULTILINE), folder.name


def test_every_text_the_code_asks_for_exists() -> None:
    """Each key a module names is in the core's dictionary or its own feature's.

    A key is a string literal such as ``'cp.tab.general'`` whose first segment is a namespace the
    dictionaries use (``cp``), or any literal passed to ``t()``, ``has()`` or ``tr()``; a literal
    may also be a validation type, looked up as ``validation.<type>``. A key built in a template
    (`` `cp.relation.${r}` ``) needs at least one key with that prefix in some dictionary.
    """
    texts = {owner: set(dictionary(owner, "en")) for owner in dictionary_folders()}
    every = set().union(*texts.values())
    namespaces = {key.split(".", 1)[0] for key in every}
    missing: list[str] = []
    for module in sorted(JS.rglob("*.js")):
        if "i18n" in module.relative_to(JS).parts:
            continue
        owner = owner_of(module)
        known = texts["core"] | texts[owner]
        code = without_comments(module.read_text(encoding="utf-8"))
        where = module.relative_to(JS).as_posix()
        for match in KEY_LIKE.finditer(code):
            key = match[2]
            if key.split(".", 1)[0] in namespaces and key not in known and f"validation.{key}" not in known:
                missing.append(f"{where}: '{key}'")
        for match in TRANSLATE_CALL.finditer(code):
            if "${" not in match[2] and match[2] not in known:
                missing.append(f"{where}: t('{match[2]}')")
        for match in KEY_PREFIX.finditer(code):
            prefix = match[1]
            if prefix.split(".", 1)[0] in namespaces and not any(key.startswith(prefix) for key in every):
                missing.append(f"{where}: `{prefix}${{…}}`")
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    missing += [f"index.html: '{key}'" for key in re.findall(r'data-i18n="([^"]+)"', page) if key not in texts["core"]]
    assert not missing, "texts missing from the dictionaries:\n" + "\n".join(sorted(set(missing)))
