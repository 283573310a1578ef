"""Pages for people: the live demo at /demo and the OpenAPI docs at /docs, both without internet.

The demo is static HTML/JS with no build step; it imports the JavaScript client (an ES module) from
``clients/javascript/src``, served under ``/demo/client/``. Swagger UI's assets come from the
``swagger-ui-bundle-v2`` package (installed with the service), not from a CDN. Assets are served by
name from a fixed folder: no path from the request reaches the file system.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from integrity.core.paths import REPO_ROOT

DEMO_DIR = Path(__file__).resolve().parents[2] / "static" / "demo"
CLIENT_DIR = REPO_ROOT / "clients" / "javascript" / "src"
SWAGGER_DIR = Path(swagger_ui_path)
SWAGGER_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")

router = APIRouter(include_in_schema=False)


@cache
def _files(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """The servable files of a folder, by name (read once per replica)."""
    if not folder.is_dir():
        return {}
    return {p.name: p for p in folder.iterdir() if p.is_file() and p.suffix in suffixes}


def _file(folder: Path, name: str, suffixes: tuple[str, ...]) -> FileResponse:
    path = _files(folder, suffixes).get(name)
    if path is None:
        raise HTTPException(status_code=404, detail=f"no such file: {name}")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


@router.get("/demo")
async def demo_redirect(request: Request) -> RedirectResponse:
    # Relative, so it works behind a proxy that mounts the service under a prefix; keeps the query.
    query = request.url.query
    return RedirectResponse("demo/" + (f"?{query}" if query else ""), status_code=307)


@router.get("/demo/")
async def demo_page() -> FileResponse:
    return _file(DEMO_DIR, "index.html", (".html",))


@router.get("/demo/client/{name}")
async def demo_client(name: str) -> FileResponse:
    return _file(CLIENT_DIR, name, (".js",))


@router.get("/demo/{name}")
async def demo_asset(name: str) -> FileResponse:
    return _file(DEMO_DIR, name, (".js", ".css", ".svg"))


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=root + (request.app.openapi_url or "/openapi.json"),
        title=f"{request.app.title} - docs",
        swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png",
    )


@router.get("/docs/assets/{name}")
async def swagger_asset(name: str) -> FileResponse:
    if name not in SWAGGER_ASSETS:
        raise HTTPException(status_code=404, detail=f"no such file: {name}")
    return _file(SWAGGER_DIR, name, (".js", ".css", ".png"))
