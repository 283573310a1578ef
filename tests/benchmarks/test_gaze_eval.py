"""The gaze evaluation: the MANIFEST's labels and face counts as parsed, the confusion arithmetic, and
its verdict on the labelled clips (strict labels, >= 90 % per frame)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.backends import load_backend, parse_backends
from benchmarks.face_count import SecondLook, face_count_table
from benchmarks.gaze_eval import MIN_ACCURACY, Confusion, evaluate
from benchmarks.manifest import (
    ERRATA,
    FACE_COUNT_EXCEPTIONS,
    ClipLabels,
    Erratum,
    corrected_labels,
    face_count_of,
    face_expectations,
    gaze_segments,
    label_errata,
    still_images,
)
from integrity.core.enums import EventType, GazeDirection, LandmarkBackend
from integrity.core.paths import REPO_ROOT
from integrity.vision.face import FaceAnalyzer
from integrity.vision.gaze import GazeAnalyzer, GazeConfig

C, L, R, U, D, X = (GazeDirection(v) for v in ("center", "left", "right", "up", "down", "unknown"))
LEFT_CLIP = "A_video_gaze_center_left_center.mp4"
DOWN_CLIP = "A_video_gaze_down_segments.mp4"

SAMPLE = """# Fixtures

## Images

| File | Size (px) | Bytes | What it shows (verified) | Source |
|---|---|---|---|---|
| B01_one.png | 1x1 | 1 | **1 face**, frontal. **Phone: no.** | x |
| B02_none.jpg | 1x1 | 1 | **0 faces**, but **1 person** present. | x |
| B03_group.jpg | 1x1 | 1 | **3 fully visible faces plus 2 partial.** **Laptop: yes** | x |

## Labelled gaze segments (machine-readable)

Some prose.

```csv
file,start_s,end_s,gaze,notes
b.mp4,2.0,3.0,down,"quoted, with a comma"
a.mp4,0.0,1.0,center,
a.mp4,1.5,2.5,left,head still, eyes only
```
"""


@pytest.fixture(scope="module")
def manifest_text(fixtures_dir: Path) -> str:
    return (fixtures_dir / "MANIFEST.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def labelled(manifest_text: str) -> dict[str, ClipLabels]:
    return gaze_segments(manifest_text)


# -- parsing -----------------------------------------------------------------------------------------
def test_csv_block_parses_with_commas_in_notes() -> None:
    clips = gaze_segments(SAMPLE)
    assert list(clips) == ["b.mp4", "a.mp4"]
    a = clips["a.mp4"]
    assert [(s.start, s.end, s.gaze) for s in a.segments] == [(0.0, 1.0, C), (1.5, 2.5, L)]
    assert a.segments[1].notes == "head still, eyes only"
    assert clips["b.mp4"].segments[0].notes == "quoted, with a comma"


def test_trimming_cuts_each_segment_end() -> None:
    a = gaze_segments(SAMPLE)["a.mp4"]
    assert a.label_at(0.1) is None and a.label_at(0.15) is C and a.label_at(0.85) is C
    assert a.label_at(0.9) is None  # within 0.15 s of the end
    assert a.label_at(1.2) is None  # between segments: a transition, never scored
    assert a.label_at(1.5, trim=0.0) is L and a.label_at(1.5) is None and a.label_at(1.7) is L
    assert a.label_at(0.5, trim=0.6) is None  # a segment shorter than both trims is not scored
    assert a.scored_seconds(trim=0.15) == pytest.approx(0.7 + 0.7)


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("a.mp4,0.0,1.0,sideways,", "unknown gaze label"),
        ("a.mp4,0.0,1.0,unknown,", "not a label"),
        ("a.mp4,2.0,1.0,center,", "before its start"),
        ("a.mp4,0.0,1.0,center,\na.mp4,0.5,2.0,left,", "overlap"),
    ],
)
def test_bad_rows_are_refused(row: str, error: str) -> None:
    text = f"## Labelled gaze segments\n\n```csv\nfile,start_s,end_s,gaze,notes\n{row}\n```\n"
    with pytest.raises(ValueError, match=error):
        gaze_segments(text)


def test_missing_block_is_refused() -> None:
    with pytest.raises(ValueError, match="no heading"):
        gaze_segments("# Fixtures\n\nNo labels here.\n")
    with pytest.raises(ValueError, match="csv block"):
        gaze_segments("## Labelled gaze segments\n\nnone yet\n")


def test_real_manifest_labels(labelled: dict[str, ClipLabels], fixtures_dir: Path) -> None:
    """Every labelled clip exists; the down clip's corrected labels (a wink, then a look to
    image-right, in its first 1.8 s) and the left clip's are what the evaluation scores."""
    assert len(labelled) >= 4
    for file, clip in labelled.items():
        assert (fixtures_dir / file).is_file(), file
        assert clip.segments and clip.scored_seconds() > 0
    left = labelled[LEFT_CLIP]
    assert left.label_at(2.0) is C and left.label_at(8.0) is L and left.label_at(12.0) is C
    assert left.label_at(5.6) is None and left.label_at(10.4) is None  # the switches
    down = labelled[DOWN_CLIP]
    assert down.label_at(0.5) is None  # the wink: not scored
    assert down.label_at(1.25) is R and down.label_at(1.7) is None  # the look right, the squint
    assert down.label_at(3.0) is D and down.label_at(8.0) is D and down.label_at(6.2) is C
    assert down.label_at(1.95) is None and down.label_at(2.1) is D  # trimmed by 0.15 s
    assert {s.gaze for clip in labelled.values() for s in clip.segments} == {C, L, R, U, D}


# -- label errata ------------------------------------------------------------------------------------
ERRATA_SAMPLE = """file,start_s,end_s,manifest_gaze,gaze,evidence
a.mp4,0.4,0.8,center,left,"irises at the image-left corners, zoomed"
"""


def test_errata_split_the_segment_they_correct() -> None:
    a = gaze_segments(SAMPLE)["a.mp4"]
    fixed = a.corrected(label_errata(ERRATA_SAMPLE)["a.mp4"])
    assert [(s.start, s.end, s.gaze) for s in fixed.segments] == [
        (0.0, 0.4, C),
        (0.4, 0.8, L),
        (0.8, 1.0, C),
        (1.5, 2.5, L),
    ]
    assert fixed.label_at(0.6) is L and a.label_at(0.6) is C
    assert fixed.label_at(0.45) is None  # the corrected span is trimmed like any segment
    assert a.corrected([]) == a


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("a.mp4,0.4,0.8,center,left,", "evidence"),
        ("a.mp4,0.8,0.4,center,left,seen", "start < end"),
        ("a.mp4,0.4,0.8,centre,left,seen", "errata row 2"),
    ],
)
def test_bad_errata_are_refused(row: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        label_errata(f"file,start_s,end_s,manifest_gaze,gaze,evidence\n{row}\n")


def test_an_erratum_the_manifest_no_longer_matches_is_refused() -> None:
    """Once the MANIFEST is fixed (or changed) an erratum stops applying, loudly."""
    a = gaze_segments(SAMPLE)["a.mp4"]
    stale = label_errata("file,start_s,end_s,manifest_gaze,gaze,evidence\na.mp4,0.4,0.8,left,down,seen\n")
    with pytest.raises(ValueError, match="the MANIFEST changed"):
        a.corrected(stale["a.mp4"])


def test_real_errata_apply_to_the_real_manifest(labelled: dict[str, ClipLabels]) -> None:
    """Every erratum in benchmarks/label_errata.csv still matches the MANIFEST it corrects."""
    errata = label_errata(ERRATA.read_text(encoding="utf-8"))
    assert errata, "no errata: drop the corrected figures from gaze_eval instead"
    fixed = corrected_labels(labelled, errata)
    for file, items in errata.items():
        for erratum in items:
            middle = (erratum.start + erratum.end) / 2
            assert labelled[file].label_at(middle, trim=0.0) is erratum.manifest_gaze
            assert fixed[file].label_at(middle, trim=0.0) is erratum.gaze


# -- confusion matrix ----------------------------------------------------------------------------------
def test_confusion_arithmetic() -> None:
    confusion = Confusion()
    sequence = [(C, C)] * 6 + [(C, L), (C, X), (D, D), (D, D), (D, X), (D, C), (R, R)]
    for label, answer in sequence:
        confusion.add(label, answer, blink=(label, answer) == (D, X), no_face=(label, answer) == (C, X))
    assert confusion.total() == 13 and confusion.correct() == 9
    assert confusion.accuracy() == pytest.approx(9 / 13)
    assert confusion.accuracy(C) == pytest.approx(6 / 8)
    assert confusion.accuracy(D) == pytest.approx(2 / 4)
    assert confusion.accuracy(R) == 1.0 and confusion.accuracy(U) is None
    assert confusion.unknown() == 2 and confusion.unknown(D) == 1
    assert confusion.blinks[D] == 1 and confusion.no_face[C] == 1
    assert confusion.labels() == [C, R, D]
    table = confusion.format()
    assert table[0].split()[-9:-5] == ["up", "down", "unknown", "frames"]
    assert table[1].split() == ["center", "6", "1", "0", "0", "0", "1", "8", "75.0%", "0", "1"]
    assert table[-2].split() == ["overall", "13", "69.2%", "1", "1"]
    assert table[-1].startswith("(lids low")
    assert Confusion().accuracy() is None


# -- face counts --------------------------------------------------------------------------------------
def test_face_count_phrases() -> None:
    assert face_count_of("**1 face**, frontal") == (1,)
    assert face_count_of("**0 faces, no person.**") == (0,)
    assert face_count_of("**1 human face**, small") == (1,)
    assert face_count_of("**0 faces**, but **1 person** present") == (0,)
    assert face_count_of("**4 fully visible faces plus 1 partial.** The woman") == (4, 5)
    assert face_count_of("no bold count") is None
    assert face_count_of("**1 face** here and **2 faces** there") is None  # ambiguous
    expected = face_expectations(SAMPLE)
    assert {f: e.counts for f, e in expected.items()} == {
        "B01_one.png": (1,),
        "B02_none.jpg": (0,),
        "B03_group.jpg": (3, 4, 5),
    }
    assert expected["B03_group.jpg"].label == "3-5"


def test_ambiguous_face_count_is_refused() -> None:
    text = (
        "## Images\n\n| File | a | b | c |\n|---|---|---|---|\n| B01.png | 1 | 1 | **1 face** **2 faces** |\n"
    )
    with pytest.raises(ValueError, match=r"B01\.png"):
        face_expectations(text)


def test_real_manifest_face_counts(manifest_text: str, fixtures_dir: Path) -> None:
    expected = face_expectations(manifest_text)
    images = [p.name for p in still_images(fixtures_dir)]
    assert len(images) == 11 and set(images) <= set(expected)
    by_prefix = {name[:3]: e.counts for name, e in expected.items()}
    assert by_prefix == {
        "A01": (1,),
        "A02": (1,),
        "A03": (2,),
        "A04": (4, 5),  # 4 fully visible faces plus 1 partial
        "A05": (1,),
        "A06": (0,),
        "A07": (0,),
        "A08": (0,),
        "A09": (2,),
        "A10": (0,),
        "A11": (1,),
    }
    assert not set(FACE_COUNT_EXCEPTIONS) - set(expected)


def test_backends_parse() -> None:
    assert parse_backends("dlib_68, face_landmarker,dlib_68") == [
        LandmarkBackend.DLIB_68,
        LandmarkBackend.FACE_LANDMARKER,
    ]
    with pytest.raises(ValueError):
        parse_backends("dlib_5")


# -- on the real clips (some every n-th frame; the full run: python benchmarks/gaze_eval.py) ---------
# Whole clips at every frame or every few: the slow tier (make test), per backend.
SLOW_BACKENDS = [pytest.param(str(b), marks=pytest.mark.slow) for b in LandmarkBackend]


@pytest.fixture(scope="module", params=SLOW_BACKENDS)
def analyzers(request: pytest.FixtureRequest) -> tuple[FaceAnalyzer, GazeAnalyzer]:
    backend = load_backend(LandmarkBackend(request.param))
    if backend.analyzer is None:
        pytest.fail(f"landmarks {request.param}: {backend.ran}")
    return backend.analyzer, GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))


@pytest.mark.parametrize("variant", ["recorded", "half_res_q60", "mirrored"])
def test_center_left_center_clip(
    variant: str,
    analyzers: tuple[FaceAnalyzer, GazeAnalyzer],
    labelled: dict[str, ClipLabels],
    fixtures_dir: Path,
) -> None:
    """The whole clip at every 2nd frame: >= 90 % per frame and per label, strict; one
    EYES_OFF_SCREEN, in the look to the left, and nothing else. Mirrored, the look is to the right
    and scored so."""
    face, gaze = analyzers
    clip = labelled[LEFT_CLIP]
    result = asyncio.run(
        evaluate(clip, face, gaze, variant=variant, video=fixtures_dir / LEFT_CLIP, stride=2)
    )
    assert result.frames == 184
    assert result.confusion.total() >= 150
    aside = GazeDirection.RIGHT if variant == "mirrored" else GazeDirection.LEFT
    assert result.confusion.labels() == [GazeDirection.CENTER, aside]
    for label in result.confusion.labels():
        assert (result.accuracy(label) or 0.0) >= MIN_ACCURACY, (variant, label, "\n".join(result.report()))
    off = [e.timestamp for e in result.records if e.type is EventType.EYES_OFF_SCREEN]
    assert len(off) == 1 and 5.8 <= off[0] <= 10.3, "\n".join(result.report())
    assert [e for e in result.records if e.type is not EventType.EYES_OFF_SCREEN] == []


def test_down_clip(
    analyzers: tuple[FaceAnalyzer, GazeAnalyzer], labelled: dict[str, ClipLabels], fixtures_dir: Path
) -> None:
    """The looks down are down, not blinks: at every frame over the clip's strict labels, the looks
    down read down on >= 85 % of their frames (the rest are the 0.25 s blink hold at each onset) and
    the overall stays >= 84 %; the first look down raises EYES_OFF_SCREEN (down), and nothing else
    is raised. The 90 % target is test_down_clip_reaches_the_target, below."""
    face, gaze = analyzers
    clip = labelled[DOWN_CLIP]
    result = asyncio.run(evaluate(clip, face, gaze, video=fixtures_dir / DOWN_CLIP))
    assert result.frames == 354
    assert (result.accuracy(GazeDirection.DOWN) or 0.0) >= 0.85, "\n".join(result.report())
    assert (result.accuracy() or 0.0) >= 0.84, "\n".join(result.report())
    off = [e for e in result.records if e.type is EventType.EYES_OFF_SCREEN]
    assert off and off[0].evidence["direction"] == "down", "\n".join(result.report())
    assert 1.9 <= off[0].timestamp <= 5.5
    assert all(e.evidence["direction"] == "down" for e in off)
    assert [e for e in result.records if e.type is not EventType.EYES_OFF_SCREEN] == []


@pytest.fixture(scope="module")
def errata() -> dict[str, list[Erratum]]:
    return label_errata(ERRATA.read_text(encoding="utf-8"))


def test_down_clip_reaches_the_target(
    analyzers: tuple[FaceAnalyzer, GazeAnalyzer], labelled: dict[str, ClipLabels], fixtures_dir: Path
) -> None:
    """As the MANIFEST labels it, at every frame: >= 90 % (its two sideways glances inside centre
    segments, benchmarks/label_errata.csv, count against it)."""
    face, gaze = analyzers
    result = asyncio.run(evaluate(labelled[DOWN_CLIP], face, gaze, video=fixtures_dir / DOWN_CLIP))
    assert (result.accuracy() or 0.0) >= MIN_ACCURACY, "\n".join(result.report())


def test_down_clip_reaches_the_target_on_corrected_labels(
    analyzers: tuple[FaceAnalyzer, GazeAnalyzer],
    labelled: dict[str, ClipLabels],
    errata: dict[str, list[Erratum]],
    fixtures_dir: Path,
) -> None:
    """With the two sideways glances the frames show scored as such: >= 90 % at every frame."""
    face, gaze = analyzers
    clip = labelled[DOWN_CLIP]
    corrected = clip.corrected(errata[DOWN_CLIP])
    result = asyncio.run(evaluate(clip, face, gaze, video=fixtures_dir / DOWN_CLIP, corrected=corrected))
    assert result.corrected is not None
    assert (result.accuracy(corrected=True) or 0.0) >= MIN_ACCURACY, "\n".join(result.report())
    assert (result.accuracy(GazeDirection.DOWN, corrected=True) or 0.0) >= 0.85, "\n".join(result.report())


HONEST_CLIP = "A_video_webcam_honest_talk_lean_hand_on_face.mp4"
MEETING_CLIP = "A_video_meeting_closeup_passerby_cup_looks_down.m4v"


def test_honest_webcam_clip(
    analyzers: tuple[FaceAnalyzer, GazeAnalyzer], labelled: dict[str, ClipLabels], fixtures_dir: Path
) -> None:
    """The honest laptop-webcam clip whole, every 4th frame (6.25 fps, to keep this quick; the
    acceptance figure is gaze_eval.py's at every frame): >= 90 % per frame, and nothing raised."""
    face, gaze = analyzers
    result = asyncio.run(
        evaluate(labelled[HONEST_CLIP], face, gaze, video=fixtures_dir / HONEST_CLIP, stride=4)
    )
    assert result.confusion.total() > 0
    assert (result.accuracy() or 0.0) >= MIN_ACCURACY, "\n".join(result.report())
    assert result.records == [], "\n".join(result.report())


@pytest.fixture(scope="module")
def landmarker() -> tuple[FaceAnalyzer, GazeAnalyzer]:
    backend = load_backend(LandmarkBackend.FACE_LANDMARKER)
    assert backend.analyzer is not None, backend.ran
    return backend.analyzer, GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))


@pytest.mark.xfail(
    strict=True,
    reason="issue 20 acceptance 5 cannot be met on the meeting close-up as the MANIFEST labels it "
    "(74.4 % Face Landmarker at every frame): its 54.0-59.4 s and 66.5-70.9 s segments say "
    "image-right where the frames show the head turned to image-left (benchmarks/label_errata.csv), "
    "230 frames that no correct answer can score; on the corrected labels it passes (below)",
)
def test_meeting_clip_reaches_the_target(
    analyzers: tuple[FaceAnalyzer, GazeAnalyzer], labelled: dict[str, ClipLabels], fixtures_dir: Path
) -> None:
    face, gaze = analyzers
    clip = labelled[MEETING_CLIP]
    result = asyncio.run(evaluate(clip, face, gaze, video=fixtures_dir / MEETING_CLIP, stride=4))
    assert (result.accuracy() or 0.0) >= MIN_ACCURACY, "\n".join(result.report())


@pytest.mark.slow
def test_meeting_clip_reaches_the_target_on_corrected_labels(
    landmarker: tuple[FaceAnalyzer, GazeAnalyzer],
    labelled: dict[str, ClipLabels],
    errata: dict[str, list[Erratum]],
    fixtures_dir: Path,
) -> None:
    """The meeting close-up with the frames' own labels where they contradict the MANIFEST's (a
    mirrored head turn, smiling looks down, a glance up at the camera inside a look down), every
    4th frame (the acceptance figure is gaze_eval.py's at every frame): >= 90 %, its looks down
    >= 85 % (smiles included), and the looks down raise EYES_OFF_SCREEN (down) while the cup
    (42.4-44.4 s) raises nothing. The Face Landmarker (the default); dlib's 68 points lose this
    low-resolution face on most frames (gaze_eval.py prints their figures beside)."""
    face, gaze = landmarker
    clip = labelled[MEETING_CLIP]
    corrected = clip.corrected(errata[MEETING_CLIP])
    result = asyncio.run(
        evaluate(clip, face, gaze, video=fixtures_dir / MEETING_CLIP, stride=4, corrected=corrected)
    )
    report = "\n".join(result.report())
    assert (result.accuracy(corrected=True) or 0.0) >= MIN_ACCURACY, report
    assert (result.accuracy(GazeDirection.DOWN, corrected=True) or 0.0) >= 0.85, report
    spans = [  # each EYES_OFF_SCREEN (down) from where its look began to where it ended
        (start := e.timestamp - float(e.evidence.get("held_s", 0.0)), start + e.duration_s)
        for e in result.records
        if e.type is EventType.EYES_OFF_SCREEN and e.evidence.get("direction") == "down"
    ]
    for begin, end in ((25.0, 39.2), (83.0, 90.9), (93.0, 109.4)):  # the long looks down
        assert any(a < end and b > begin for a, b in spans), (begin, end, spans, report)
    assert not [e for e in result.records if 42.4 <= e.timestamp <= 44.9], report


@pytest.mark.slow
@pytest.mark.parametrize("stride", [2, 6, 12, 25])  # 12.5, ~4, ~2 and 1 frames a second
def test_drinking_from_a_cup_is_not_a_look_off_the_screen(
    stride: int,
    landmarker: tuple[FaceAnalyzer, GazeAnalyzer],
    labelled: dict[str, ClipLabels],
    fixtures_dir: Path,
) -> None:
    """The meeting close-up's first 50 s at the rates clients send: the long look down at the hands
    (25.0-39.2 s) raises EYES_OFF_SCREEN (down); drinking from a paper cup, eyes cast down at it
    (42.4-44.4 s, after a smiling look down), raises nothing: the mouth is covered."""
    face, gaze = landmarker
    clip = labelled[MEETING_CLIP]
    result = asyncio.run(
        evaluate(clip, face, gaze, video=fixtures_dir / MEETING_CLIP, stride=stride, max_seconds=50.0)
    )
    report = "\n".join(result.report())
    assert not [e for e in result.records if 42.4 <= e.timestamp <= 44.9], report
    assert any(
        e.type is EventType.EYES_OFF_SCREEN
        and e.evidence.get("direction") == "down"
        and 25.0 <= e.timestamp <= 39.2
        for e in result.records
    ), report


def test_face_count_table(analyzers: tuple[FaceAnalyzer, GazeAnalyzer], fixtures_dir: Path) -> None:
    lines, ok = face_count_table(analyzers[0], fixtures_dir)
    assert ok, "\n".join(lines)
    assert len(lines) == 1 + 11 + 2  # header, the images, the total, A04's note


def test_face_count_table_with_the_second_look(
    analyzers: tuple[FaceAnalyzer, GazeAnalyzer], fixtures_dir: Path
) -> None:
    """As the service counts a photo sent once: with YOLOv8n's person boxes (../shared/models) and
    the second look inside those without a face. Still 11 of 11: the backs of heads (A06, A08) and
    A11's dog are no face."""
    weights = (REPO_ROOT.parent / "shared" / "models" / "yolov8n_int8.tflite").resolve()
    if not weights.is_file():
        pytest.skip(f"real YOLO weights not found at {weights}")
    second, said = SecondLook.load(weights, REPO_ROOT / "models")
    assert second is not None, said
    lines, ok = face_count_table(analyzers[0], fixtures_dir, second)
    assert ok, "\n".join(lines)
