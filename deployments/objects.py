"""The objects Serve deployment: one ObjectAnalyzer per replica; optional ``@serve.batch`` across frames.

Batching is off by default: on CPU a batch of N costs N single frames (docs/SCALING.md) and only
adds the wait; turn it on (``batch.enabled`` in configs/objects.yaml) for GPUs.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import ray
from ray import serve

from deployments.runtime import limit_threads, lower_priority
from integrity.core.results import ModelStatus, ObjectAnalysis
from integrity.vision.object_mapping import ObjectsConfig
from integrity.vision.objects import ObjectAnalyzer


@serve.deployment(name="objects", ray_actor_options={"num_cpus": 0.25})
class ObjectDeployment:
    def __init__(
        self,
        model_path: Path,
        model_name: str,
        confidence_threshold: float,
        config: ObjectsConfig | None = None,
        cv_threads: int | None = 1,
        nice: int = 0,
    ) -> None:
        limit_threads(cv_threads)
        lower_priority(nice)
        self.config = config or ObjectsConfig()
        # Only a GPU Ray gave this replica counts (onnxruntime may see the host's CUDA anyway).
        gpu_assigned = bool(ray.get_gpu_ids()) if ray.is_initialized() else None
        self.detector = ObjectAnalyzer(
            model_path, model_name, confidence_threshold, self.config, gpu_assigned
        )
        self.detector.load()
        batched: Any = self._batched  # @serve.batch's wrapper; its setters are not in the types
        batched.set_max_batch_size(self.config.batch.max_batch_size)
        batched.set_batch_wait_timeout_s(self.config.batch.wait_timeout_s)

    def status(self) -> ModelStatus:
        return self.detector.status

    async def analyze(self, data: bytes) -> ObjectAnalysis:
        if not self.detector.status.available:
            return ObjectAnalysis(status=self.detector.status)
        if self.config.batch.enabled:
            result: ObjectAnalysis = await self._batched((data, time.perf_counter()))
            return result
        # The runtimes release the GIL: frames of concurrent requests run in parallel threads
        # (onnxruntime's session is thread-safe; LiteRT's interpreter takes them in turn, under a lock).
        return await asyncio.to_thread(self.detector.analyze, data)

    @serve.batch(max_batch_size=4, batch_wait_timeout_s=0.005)
    async def _batched(self, items: list[tuple[bytes, float]]) -> list[ObjectAnalysis]:
        started = time.perf_counter()
        results = await asyncio.to_thread(self.detector.analyze_many, [data for data, _ in items])
        for result, (_, queued) in zip(results, items, strict=True):
            result.timings_ms["queue"] = round((started - queued) * 1000, 2)
        return results
