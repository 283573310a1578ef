"""Autoscaling seen working on two Ray nodes: a low target makes the face deployment grow from one
replica to two under four back-to-back streams, the second on the other node (each node offers one
``face_slot``, so the first node is full), and shrink back to one after the load.

The session shards do not autoscale: ``SESSION_SHARDS`` is a fixed number of actors (docs/DEPLOYMENT.md,
"Multi-node"). Serve's routers push their load to the controller every 10 s by default; the cluster
here pushes every second (RAY_SERVE_*_AUTOSCALING_METRIC_PUSH_INTERVAL_S), as the times printed say.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.local_service import identity_off
from tests.cluster.harness import ClusterApp, Placement, Stream, cluster_app, replicas_on, wait_for
from tests.integration.conftest import UNLIMITED

pytestmark = pytest.mark.integration

SCALE_UP_BOUND_S = 60.0
SCALE_DOWN_BOUND_S = 90.0
METRICS_PUSH_S = "1"

FACE_AUTOSCALING = {
    "min_replicas": 1,
    "max_replicas": 2,
    "target_ongoing_requests": 1,
    "upscale_delay_s": 1,
    "downscale_delay_s": 5,
}


def app_args(folder: Path) -> dict[str, Any]:
    one = {"min_replicas": 1, "max_replicas": 1}
    on_head = {"head": 0.01}
    return {
        "ingress": {
            "num_cpus": 0.25,
            "resources": on_head,
            "max_ongoing_requests": 128,
            "autoscaling": {**one, "target_ongoing_requests": 64},
        },
        "face": {
            "num_cpus": 0.5,
            "resources": {"face_slot": 1},
            "max_ongoing_requests": 4,
            "autoscaling": FACE_AUTOSCALING,
        },
        "objects": {"num_cpus": 0.25, "resources": on_head, "autoscaling": one},
        # Without the identity watch: under trusted replay each frame waits for its identity check
        # in flight, which would hold the face deployment's load under its target on a busy machine.
        "identity_config": str(identity_off(folder)),
        "settings": {**UNLIMITED, "session_shards": 1},
    }


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, fixture_bytes: dict[str, bytes]
) -> Iterator[tuple[ClusterApp, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("autoscaling")
    with cluster_app(
        folder,
        head={"num_cpus": 2, "resources": {"head": 1, "face_slot": 1}},
        workers=[{"name": "worker", "num_cpus": 2, "resources": {"worker": 1, "face_slot": 1}}],
        app_args=app_args(folder),
        env={
            "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": METRICS_PUSH_S,
            "RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S": METRICS_PUSH_S,
        },
    ) as running:
        yield running


def only_one_face(placement: Placement) -> bool:
    replicas = placement["replicas"]["face"]
    return len(replicas) == 1 and replicas[0]["state"] == "RUNNING"


def test_face_replicas_scale_up_onto_the_second_node_under_load_and_back_down_after(
    cluster: tuple[ClusterApp, dict[str, Any]], fixture_bytes: dict[str, bytes]
) -> None:
    app, ready = cluster
    _, before = wait_for(app, only_one_face, 60, "one face replica at rest")
    first_node = replicas_on(before, "face")[0]
    print(f"\ndeployed in {ready['deployed_s']} s; at rest: face on {first_node}")

    frames = [fixture_bytes["A01_frontal_webcam_man.png"], fixture_bytes["A03_two_faces_webcam.png"]]
    streams = [Stream(app.url, "rest", frames, timeout_s=30, candidate=f"load-{i}") for i in range(4)]
    try:
        load_began = time.monotonic()
        for stream in streams:
            stream.start()
        decided_s, _ = wait_for(  # Serve decided: a second replica exists (starting)
            app, lambda p: len(p["replicas"]["face"]) >= 2, SCALE_UP_BOUND_S, "a second face replica"
        )
        up_s, peak = wait_for(
            app, lambda p: len(replicas_on(p, "face")) >= 2, SCALE_UP_BOUND_S, "scale-up to 2 face replicas"
        )
        up_s += decided_s
        time.sleep(3)  # a few seconds on two replicas
    finally:
        for stream in streams:
            stream.stop()
    load_s = time.monotonic() - load_began
    down_s, after = wait_for(app, only_one_face, SCALE_DOWN_BOUND_S, "scale-down to 1 face replica", 1.0)

    nodes = replicas_on(peak, "face")
    served = sum(len(s.served()) for s in streams)
    statuses = Counter(a.status for s in streams for a in s.answers)
    print(f"under load: face on {nodes}; {served} frames served in {load_s:.1f} s ({dict(statuses)})")
    print(
        f"scale-up 1 -> 2 face replicas: decided {decided_s:.1f} s after the load began, running at "
        f"{up_s:.1f} s; "
        f"scale-down 2 -> 1: {down_s:.1f} s after it ended (upscale_delay_s 1, downscale_delay_s 5, "
        f"metrics pushed every {METRICS_PUSH_S} s); left on {replicas_on(after, 'face')}"
    )
    assert len(set(nodes)) == 2, f"the second replica is not on the other node: {nodes}"
    assert set(statuses) <= {200, 503}, statuses
    refused = [a for s in streams for a in s.answers if a.status == 503]
    assert all(a.retry_after is not None and a.seconds < 10 for a in refused)
    for stream in streams:
        assert stream.end()["frames_analyzed"] == len(stream.served())
        stream.close()
