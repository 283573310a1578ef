"""Ray Serve's cluster-wide switches that the application depends on, in one place.

Direct ingress (Ray 2.60, part of Serve's "throughput optimized" mode) makes each ingress replica
serve HTTP and WebSocket on its own port instead of receiving every request through Serve's proxy
actor: a frame skips one process hop, its body one more Ray call, and the proxy's CPU per request.
Serve reads the switch when its controller and replicas start, so it is set in the environment of
the whole cluster before Ray starts (``python -m serve_app``, the benchmarks, the tests do it with
``serve_cluster_env``), and the application builder only follows it (``direct_ingress_active``).

Serve (Ray 2.60) binds a direct-ingress port without ``SO_REUSEADDR`` (its proxy sets it), so a
replica that starts while the port's last connections sit in TIME_WAIT (up to a minute after its
predecessor closed them) fails to bind, and Serve then marks the port as taken: with one port per
node the node would be left without an ingress. ``reuse_address_for_direct_ingress``, called in the
ingress replica's constructor (which runs before Serve opens the port), makes Serve bind it with
``SO_REUSEADDR`` as its proxy binds its own port: a socket in TIME_WAIT then no longer blocks the
bind, while a port another process listens on still does (Linux refuses that without
``SO_REUSEPORT``, which is not set). Should a Ray version change what it patches, it says so and
``wait_until_bindable`` waits the port out instead.
"""

from __future__ import annotations

import errno
import inspect
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

from serve_app.settings import Settings

logger = logging.getLogger(__name__)

DIRECT_INGRESS = "RAY_SERVE_ENABLE_DIRECT_INGRESS"
THROUGHPUT_OPTIMIZED = "RAY_SERVE_THROUGHPUT_OPTIMIZED"
DIRECT_INGRESS_MIN_HTTP_PORT = "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"


# Serve's controller and metrics on a small machine: the controller's control loop runs 10 times a
# second by default (its largest idle cost) and replicas and routers export their cached metrics 10
# times a second. Twice a second and once a second keep the dashboard and Prometheus' metrics (scraped
# every 10-15 s) and Serve's reactions (autoscaling waits seconds anyway) while idling for less CPU
# (docs/SCALING.md).
# Ray's log monitor (it forwards the workers' output to the driver) lists the log folder again on
# every pass, 10 times a second, while it holds fewer than this many files; at 0 it lists it every
# 0.5 s (LOG_NAME_UPDATE_INTERVAL_S) and still reads the files it knows 10 times a second: a new
# worker's first lines reach the driver up to 0.5 s later.
IDLE_ENV = {
    "RAY_SERVE_CONTROL_LOOP_INTERVAL_S": "0.5",
    "RAY_SERVE_METRICS_EXPORT_INTERVAL_MS": "1000",
    "RAY_LOG_MONITOR_MANY_FILES_THRESHOLD": "0",
}
# Serve kills a proxy not ready within 5 s of starting and starts another; on a busy small node the
# first one needs longer, and each restart only adds to the load that made it slow.
SLOW_NODE_ENV = {"RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "30"}
# Ray starts every worker (replicas, actors) at nice 15 so its own control processes come first. The
# replicas that may wait (objects, identity: ``nice`` in serve_config.yaml) lower themselves from
# there, but 19 is the floor: 4 steps below the frame path gave it only ~2.4x their CPU share, and a
# dlib or YOLO pass still held up frames. At 5 the frame path keeps 10 steps (~9x) over them and
# Ray's control processes (nice 0) still come first.
PRIORITY_ENV = {"RAY_worker_niceness": "5"}
CLUSTER_ENV = {**IDLE_ENV, **SLOW_NODE_ENV, **PRIORITY_ENV}


def serve_cluster_env(settings: Settings) -> dict[str, str]:
    """Environment of a local Ray cluster for these settings (set it before ``ray.init``)."""
    if not settings.direct_ingress:
        return {**CLUSTER_ENV, DIRECT_INGRESS: "0"}
    port = settings.api_port
    return {
        **CLUSTER_ENV,
        DIRECT_INGRESS: "1",
        # One port per node: the node's ingress replica (the builder allows one per node) takes
        # API_PORT; Serve's proxy, still started on the head node, listens on PROXY_PORT.
        DIRECT_INGRESS_MIN_HTTP_PORT: str(port),
        "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(port + 1),  # exclusive
        # Serve holds a freed port back (150 s by default) for HAProxy's stale server lists; with
        # nothing in front, a restarted ingress replica must get API_PORT back at once.
        "RAY_SERVE_PORT_QUARANTINE_S": "0",
        # A stopping ingress replica keeps serving this long for load balancers to deregister it
        # (30 s by default); in-flight requests are waited for regardless.
        "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "2",
    }


def direct_ingress_active(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this Ray cluster serves through direct ingress, read as Serve reads it: unset, it
    follows the cluster-wide throughput-optimized mode."""
    default = "1" if environ.get(THROUGHPUT_OPTIMIZED) == "1" else "0"
    return environ.get(DIRECT_INGRESS, default) == "1"


def direct_ingress_port(environ: Mapping[str, str] = os.environ) -> int | None:
    """The first port Serve gives an ingress replica on a node (None: no direct ingress)."""
    if not direct_ingress_active(environ):
        return None
    return int(environ.get(DIRECT_INGRESS_MIN_HTTP_PORT, "30000"))


def wait_until_bindable(
    port: int,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Block until ``port`` can be bound as Serve binds it (all interfaces, no ``SO_REUSEADDR``),
    or ``timeout_s`` passed; return the seconds waited. Only "address in use" is waited out."""
    started = clock()
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("0.0.0.0", port))
                return clock() - started
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    return clock() - started
        waited = clock() - started
        if waited >= timeout_s:
            logger.error("port %s is still in use after %.0f s; starting anyway", port, waited)
            return waited
        sleep(1.0)


def reuse_address_for_direct_ingress() -> bool:
    """Make this process's Serve replica bind its direct-ingress port with ``SO_REUSEADDR`` (see the
    module's docstring); True when done (or already), False where this Ray's internals differ."""
    try:
        from ray.serve._private import http_util, replica
    except ImportError:
        return False
    start = getattr(replica, "start_asgi_http_server", None)
    if start is None or not hasattr(http_util, "set_socket_reuse_port"):
        return False
    if getattr(start, "reuses_address", False):
        return True
    if "enable_so_reuseport" not in inspect.signature(start).parameters:
        return False

    def reuse_address_only(sock: socket.socket) -> bool:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return True

    async def start_reusing_address(*args: Any, **kwargs: Any) -> Any:
        # The replica's only HTTP server in this process: its socket gets SO_REUSEADDR alone.
        return await start(*args, **{**kwargs, "enable_so_reuseport": True})

    start_reusing_address.reuses_address = True  # type: ignore[attr-defined]
    http_util.set_socket_reuse_port = reuse_address_only
    setattr(replica, "start_asgi_http_server", start_reusing_address)  # noqa: B010 (not exported)
    return True
