"""When a session's frame gets an object analysis (integrity/vision/object_sampling.py)."""

from __future__ import annotations

from integrity.core.enums import FaceDetector, GazeDirection
from integrity.core.geometry import Box
from integrity.core.results import DetectedFace, FaceAnalysis, GazeAnalysis
from integrity.vision.object_sampling import ObjectSampler, ObjectSamplingConfig, Trigger


def faces(n: int) -> FaceAnalysis:
    found = [
        DetectedFace(
            box=Box(x=10 + 120 * i, y=10, width=100, height=100),
            score=0.9,
            detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        )
        for i in range(n)
    ]
    return FaceAnalysis(
        image_width=640,
        image_height=480,
        detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        faces=found,
        primary=0 if n else None,
    )


def test_a_one_fps_camera_is_sampled_on_every_frame_despite_jitter() -> None:
    sampler = ObjectSampler(ObjectSamplingConfig())
    for at in (0.0, 0.93, 1.95, 2.9):  # frames a little less than 1 s apart
        assert sampler.due("s", at)
        assert sampler.begin("s", at)
        sampler.done("s")


def test_two_fps_is_sampled_once_a_second_and_never_twice_at_once() -> None:
    sampler = ObjectSampler(ObjectSamplingConfig())
    assert sampler.due("s", 0.0) and sampler.begin("s", 0.0)
    assert not sampler.due("s", 1.0)  # one in flight
    sampler.done("s")
    assert not sampler.due("s", 0.5) and sampler.due("s", 1.0)


def test_triggers_ask_for_an_analysis_sooner_but_not_back_to_back() -> None:
    sampler = ObjectSampler(ObjectSamplingConfig())
    down = GazeAnalysis(direction=GazeDirection.DOWN)
    assert sampler.trigger("s", 0.0, faces(1), GazeAnalysis()) == []
    assert sampler.begin("s", 0.1)
    sampler.done("s")
    assert sampler.trigger("s", 0.2, faces(1), down) == []  # 0.1 s after the last: too soon
    assert sampler.trigger("s", 0.5, faces(2), down) == [Trigger.NEW_FACE, Trigger.LOOK_DOWN]
    turned = GazeAnalysis(head_turned=True, unreadable_eyes=["image_left"])
    assert sampler.trigger("s", 0.9, faces(2), turned) == [Trigger.HEAD_TURNED, Trigger.EYES_HIDDEN]


def test_beyond_the_replicas_room_an_analysis_is_shed_and_counted() -> None:
    sampler = ObjectSampler(ObjectSamplingConfig(max_inflight=2))
    assert sampler.begin("a", 0.0) and sampler.begin("b", 0.0)
    assert not sampler.begin("c", 0.0)
    assert sampler.session("c").shed == 1 and sampler.stats.shed == 1
    sampler.done("a")
    assert sampler.begin("c", 0.1)
