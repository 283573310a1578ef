"""``python -m serve_app``: start a local Ray, serve the application on API_HOST:API_PORT, block.

The application's ``args`` are read from serve_config.yaml (or ``--config``), so this and
``serve run serve_config.yaml`` run the same application; only the address, and direct ingress
(the ingress replica itself on API_PORT, Serve's proxy on PROXY_PORT), come from the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import ray
from ray import serve

from serve_app.app import build_app
from serve_app.app_args import AppArgs, app_args_from
from serve_app.cluster import serve_cluster_env
from serve_app.settings import REPO_ROOT, Settings

logger = logging.getLogger("serve_app")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "serve_config.yaml")
    parser.add_argument("--no-dashboard", action="store_true", help="skip the Ray dashboard (saves ~350 MB)")
    parser.add_argument("--metrics-port", type=int, default=8080, help="Prometheus export port of Ray")
    options = parser.parse_args(argv)

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = app_args_from(options.config) if options.config.is_file() else AppArgs()

    os.environ.update(serve_cluster_env(settings))  # read by Serve's controller and replicas at start
    ray.init(
        address="local",
        include_dashboard=not options.no_dashboard,
        dashboard_host="127.0.0.1",
        _metrics_export_port=options.metrics_port,
        logging_level=logging.getLevelNamesMapping()[settings.log_level.upper()],
    )
    http: dict[str, Any] = {"host": settings.api_host, "port": settings.serve_proxy_port}
    if settings.tls_certfile is not None and settings.tls_keyfile is not None:
        http |= {"ssl_certfile": str(settings.tls_certfile), "ssl_keyfile": str(settings.tls_keyfile)}
    serve.start(http_options=http)

    stop, serving = threading.Event(), threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if not serving.is_set():  # still starting: abandon the start
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        serve.run(build_app(args), name="interview-integrity", route_prefix="/")
        serving.set()
        scheme = "https" if settings.tls_certfile else "http"
        logger.info("serving on %s://%s:%s (docs at /docs)", scheme, settings.api_host, settings.api_port)
        if settings.direct_ingress:
            logger.info("Serve's proxy (fallback) on port %s", settings.serve_proxy_port)
        # Not signal.pause(): Ray's threads can take the SIGTERM, and pause() in this thread then
        # never returns. Python runs the handler here whenever this wait wakes.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        logger.info("shutting down")
        serve.shutdown()
        ray.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
