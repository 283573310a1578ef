"""The whole service in this process, without Ray: the same FastAPI app, service, pipeline and
models as a Serve replica, over in-process analyzers and sessions (``LocalSessions``).

For the fast test tier and offline tools. Models are loaded once per ``AppSpec`` and may be shared
by several services (they hold no per-session state); each service has its own sessions, clocks
and evidence folder.
"""

from __future__ import annotations

import time

from fastapi import FastAPI

from integrity.session.host import Clock
from serve_app.analyzers import build_local_analyzers
from serve_app.api.app import create_app
from serve_app.local_sessions import LocalSessions
from serve_app.pipeline import Analyzers
from serve_app.service import IntegrityService
from serve_app.spec import AppSpec


def local_service(
    spec: AppSpec,
    analyzers: Analyzers | None = None,
    *,
    clock: Clock = time.time,
    monotonic: Clock = time.monotonic,
) -> IntegrityService:
    """A service over ``spec``'s models (loaded now unless ``analyzers`` are given) and sessions
    in this process on the given clocks (server time, and the rate limiters' monotonic time)."""
    sessions = LocalSessions(spec.settings, spec.risk_config, clock=clock, monotonic=monotonic)
    return IntegrityService(
        spec.settings,
        analyzers or build_local_analyzers(spec),
        sessions,
        clock=clock,
        monotonic=monotonic,
        object_sampling=spec.objects_config.sampling,
        policies=spec.policies(),
        identity=spec.identity_config,
    )


def local_app(
    spec: AppSpec,
    analyzers: Analyzers | None = None,
    *,
    clock: Clock = time.time,
    monotonic: Clock = time.monotonic,
) -> FastAPI:
    """The ingress's FastAPI app over :func:`local_service`."""
    return create_app(local_service(spec, analyzers, clock=clock, monotonic=monotonic))
