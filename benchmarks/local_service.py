"""Start Ray and the application in this process, as ``python -m serve_app`` does, for a benchmark.

The API (the ingress replica itself, with direct ingress) listens on ``port`` and Serve's proxy
beside it; the application's args come from serve_config.yaml with the given overrides.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent


def merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = (
            merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def start_local(
    port: int, settings: dict[str, Any] | None = None, app_args: dict[str, Any] | None = None
) -> str:
    """Start the service; return its URL once ``/health`` answers 200 (exit after 180 s without)."""
    import ray
    from ray import serve

    from serve_app.app import build_app
    from serve_app.app_args import AppArgs, app_args_from
    from serve_app.cluster import serve_cluster_env
    from serve_app.settings import Settings

    settings = settings or {}
    served = Settings(**{**settings, "api_port": port})
    os.environ.update(serve_cluster_env(served))  # before ray.init: the cluster's processes inherit it
    ray.init(address="local", include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": served.serve_proxy_port})
    args = app_args_from(REPO / "serve_config.yaml")
    args = args.model_copy(update={"settings": {**args.settings, **settings}})
    if app_args:
        args = AppArgs.model_validate(merged(args.model_dump(), app_args))
    serve.run(build_app(args), name="interview-integrity", route_prefix="/")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=30).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            sys.exit("the service did not come up")
        time.sleep(0.1)


def identity_off(folder: Path) -> Path:
    """configs/identity.yaml with the identity watch off (no identity deployment, no checks),
    written to ``folder``: the application's ``identity_config`` for a run without it."""
    config = yaml.safe_load((REPO / "configs" / "identity.yaml").read_text())
    config["enabled"] = False
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "identity-off.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
