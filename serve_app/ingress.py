"""The ingress Serve deployment: builds this replica's service and its FastAPI app.

``@serve.ingress()`` without an app defers the app to replica start, where Serve calls
``__serve_build_asgi_app__`` after the constructor: each replica gets its own app holding its own
service, so handlers reach it through a dependency, not through globals.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from ray import serve

from deployments.face import FaceArgs, in_process
from integrity.core.paths import POLICY_CONFIG
from integrity.session.policy import PolicyFile
from integrity.session.risk.config import RiskConfig
from integrity.vision.identity import IdentityConfig
from integrity.vision.object_mapping import PersonRelookConfig
from integrity.vision.object_sampling import ObjectSamplingConfig
from serve_app.analyzers import remote_analyzers
from serve_app.api.app import create_app
from serve_app.cluster import direct_ingress_port, reuse_address_for_direct_ingress, wait_until_bindable
from serve_app.remote import InProcessHandle
from serve_app.service import IntegrityService
from serve_app.settings import Settings
from serve_app.shard_client import SessionShards

logger = logging.getLogger(__name__)


@serve.deployment(name="ingress", ray_actor_options={"num_cpus": 0.25})
@serve.ingress()
class IntegrityIngress:
    def __init__(
        self,
        face: Any,  # the face deployment's handle, or FaceArgs to build it in this replica
        gaze: Any,
        objects: Any,
        settings: Settings,
        risk_config: RiskConfig,
        person_relook: PersonRelookConfig | None = None,
        object_sampling: ObjectSamplingConfig | None = None,
        policy_config: Path = POLICY_CONFIG,
        identity: Any | None = None,
        identity_config: IdentityConfig | None = None,
    ) -> None:
        """``identity``: the identity deployment (None: no identity watch)."""
        logging.basicConfig(level=settings.log_level.upper())
        port = direct_ingress_port()
        if port is not None and not reuse_address_for_direct_ingress():  # see serve_app/cluster.py
            logger.warning("this Ray binds the API port without SO_REUSEADDR: waiting for it if it lingers")
            waited = wait_until_bindable(port, settings.direct_ingress_bind_wait_s)
            if waited >= 1.0:
                logger.warning("waited %.0f s for port %s to be free (TIME_WAIT)", waited, port)
        if isinstance(face, FaceArgs):  # FACE_PLACEMENT=ingress: the face stage runs in this replica
            face = InProcessHandle(in_process(face), "face")
        self.service = IntegrityService(
            settings,
            remote_analyzers(face, gaze, objects, person_relook, identity),
            SessionShards(settings, risk_config),
            object_sampling=object_sampling,
            policies=PolicyFile(risk_config, policy_config),
            identity=identity_config,
        )

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.service)
