"""Ray Serve's cluster-wide switches that the application depends on, in one place.

Direct ingress (Ray 2.60, part of Serve's "throughput optimized" mode) makes each ingress replica
serve HTTP and WebSocket on its own port instead of receiving every request through Serve's proxy
actor: a frame skips one process hop, its body one more Ray call, and the proxy's CPU per request.
Serve reads the switch when its controller and replicas start, so it is set in the environment of
the whole cluster before Ray starts (``python -m serve_app``, the benchmarks, the tests do it with
``serve_cluster_env``), and the application builder only follows it (``direct_ingress_active``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from serve_app.settings import Settings

DIRECT_INGRESS = "RAY_SERVE_ENABLE_DIRECT_INGRESS"
THROUGHPUT_OPTIMIZED = "RAY_SERVE_THROUGHPUT_OPTIMIZED"


def serve_cluster_env(settings: Settings) -> dict[str, str]:
    """Environment of a local Ray cluster for these settings (set it before ``ray.init``)."""
    if not settings.direct_ingress:
        return {DIRECT_INGRESS: "0"}
    port = settings.api_port
    return {
        DIRECT_INGRESS: "1",
        # One port per node: the node's ingress replica (the builder allows one per node) takes
        # API_PORT; Serve's proxy, still started on the head node, listens on PROXY_PORT.
        "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(port),
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
