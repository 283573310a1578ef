"""The identity Serve deployment: one FaceDescriber (dlib's face-recognition ResNet) per replica.

Off the frame's path: the ingress asks it every few seconds per session (serve_app/identity_lane.py),
and it runs at a lower CPU priority (``nice``) so frames get the cores first. dlib's alignment
holds the GIL while it computes (and dlib's own ResNet, with ``runtime: dlib``), which is why it is
a process of its own and not a method of the face replica.
"""

from __future__ import annotations

import asyncio

from ray import serve

from deployments.runtime import limit_threads, lower_priority
from integrity.core.geometry import Box
from integrity.core.paths import dlib_models_dir
from integrity.core.results import HeadPose, ModelStatus
from integrity.vision.identity import FaceDescriber, FaceDescription, IdentityConfig


@serve.deployment(name="identity", ray_actor_options={"num_cpus": 0.25})
class IdentityDeployment:
    def __init__(self, config: IdentityConfig, cv_threads: int | None = 1, nice: int = 0) -> None:
        limit_threads(cv_threads)
        lower_priority(nice)
        self.describer = FaceDescriber(dlib_models_dir(), config)

    def status(self) -> ModelStatus:
        return self.describer.status

    async def describe(self, data: bytes, box: Box, pose: HeadPose | None) -> FaceDescription:
        return await asyncio.to_thread(self.describer.describe_frame, data, box, pose)
