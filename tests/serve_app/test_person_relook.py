"""The frame pipeline's in-process adapter for the second look inside person boxes
(``serve_app.analyzers.LocalPersonFaces``), on real frames and the real models."""

from __future__ import annotations

from integrity.vision.blazeface import BlazeFace
from integrity.vision.objects import ObjectAnalyzer
from integrity.vision.person_faces import PersonFaceAnalyzer
from serve_app.analyzers import LocalPersonFaces
from tests.integrity.vision.conftest import face  # noqa: F401 (the relook fixture's verifier)
from tests.integrity.vision.test_person_faces import (  # noqa: F401 (fixtures)
    beside,
    detector,
    faces_of,
    png,
    read,
    relook,
    whole_frame,
)


async def test_pipeline_relook_only_where_a_person_has_no_face(
    detector: ObjectAnalyzer,  # noqa: F811 (the fixtures imported above)
    relook: PersonFaceAnalyzer,  # noqa: F811
    whole_frame: BlazeFace,  # noqa: F811
) -> None:
    """The frame pipeline's adapter: the candidate alone costs no second look; the small second
    face beside him is added to the frame's faces."""
    local = LocalPersonFaces(relook)
    alone = read("A01_frontal_webcam_man.png")
    found = faces_of(alone, whole_frame)
    objects = detector.analyze(png(alone))
    assert await local.relook(png(alone), found, objects) is found
    image = beside("A11_face_three_quarter_with_dog.jpg", 0.36)
    data = png(image)
    merged = await local.relook(data, faces_of(image, whole_frame), detector.analyze(data))
    assert merged.count == 2 and "person_relook" in merged.timings_ms
