"""The session report: one self-contained HTML file a reviewer can open anywhere, offline.

No external assets and no script: the chart is inline SVG, the thumbnails are data URIs, the style
is inline, and a Content-Security-Policy forbids fetching anything else. Every text that came from
a client (candidate id, metadata, review notes) is escaped.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from integrity.core.enums import EventType, Severity
from integrity.session.record import SessionRecord
from integrity.session.risk.models import EventRecord

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SEVERITY_COLOUR = {
    Severity.LOW: "#6b8fb3",
    Severity.MEDIUM: "#e0a100",
    Severity.HIGH: "#e06000",
    Severity.CRITICAL: "#c81e1e",
}
VERDICT_COLOUR = {"CLEAN": "#1d7a35", "SUSPICIOUS": "#c77700", "CHEATING": "#b3161b"}

Evidence = Mapping[str, Any]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


# -- events in plain words ------------------------------------------------------------------------
def _num(ev: Evidence, key: str, digits: int = 1) -> str:
    value = ev.get(key)
    if isinstance(value, bool) or value is None:
        return "?"
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"
    return str(value)


def _deg(ev: Evidence, key: str) -> str:
    value = ev.get(key)
    return f"{abs(value):.0f}°" if isinstance(value, (int, float)) else "?"


def _side(ev: Evidence, key: str, negative: str, positive: str) -> str:
    value = ev.get(key)
    if not isinstance(value, (int, float)):
        return ""
    return negative if value < 0 else positive


def _faces(ev: Evidence, none: bool) -> str:
    faces = ev.get("faces", "?")
    text = (
        "No face was counted in the frame"
        if none
        else f"{faces} faces were counted in the frame (the event needs {_num(ev, 'threshold')} or more)"
    )
    extra = []
    if ev.get("unverified_candidates"):
        extra.append(
            f"{ev['unverified_candidates']} face-like candidate(s) were not confirmed and not counted"
        )
    if "persons" in ev:
        extra.append(f"the object model saw {ev['persons']} person(s)")
    return text + (f"; {', '.join(extra)}" if extra else "") + "."


def _objects(ev: Evidence, partial: bool) -> str:
    label = ev.get("label", "object")
    confidence = ev.get("confidence")
    conf = f" with confidence {confidence:.0%}" if isinstance(confidence, (int, float)) else ""
    what = (
        "Part of a phone (cut by the frame edge, or just below the confidence threshold)"
        if partial
        else (f"A {label}")
    )
    if partial:
        return f"{what} was detected ({label}{conf})."
    return f"{what} was detected{conf}; {ev.get('objects', 1)} such object(s) in the frame."


def _eyes_off(ev: Evidence) -> str:
    sideways = _side(ev, "gaze_yaw_deg", "toward the image's left", "toward the image's right")
    vertical = _side(ev, "gaze_pitch_deg", "down", "up")
    return (
        f"The gaze (head and eyes together) was {_deg(ev, 'gaze_yaw_deg')} {sideways} and "
        f"{_deg(ev, 'gaze_pitch_deg')} {vertical} from the candidate's own neutral pose "
        f"({ev.get('calibration', 'calibration unknown')}); the eyes themselves were turned "
        f"{_deg(ev, 'eye_yaw_deg')} sideways and {_deg(ev, 'eye_pitch_deg')} vertically. It counts beyond "
        f"{_num(ev, 'threshold_yaw_deg')}° sideways or {_num(ev, 'threshold_pitch_deg')}° vertically, "
        f"with the eyes turned at least {_num(ev, 'threshold_eye_deg')}°."
    )


def _looking_away(ev: Evidence) -> str:
    sideways = _side(ev, "head_yaw_deg", "toward the image's left", "toward the image's right")
    return (
        f"The head was turned {_deg(ev, 'head_yaw_deg')} {sideways} (pitch {_deg(ev, 'head_pitch_deg')}) "
        f"from the candidate's neutral pose, and the gaze {_deg(ev, 'gaze_yaw_deg')}; it counts beyond "
        f"{_num(ev, 'threshold_yaw_deg')}° of yaw or {_num(ev, 'threshold_pitch_deg')}° of pitch."
    )


def _whispering(ev: Evidence) -> str:
    return (
        f"Over {_num(ev, 'window_s')} s the lips opened and closed {_num(ev, 'lip_cycles')} times "
        f"(needs {_num(ev, 'threshold_cycles')}), the mouth opening varied by {_num(ev, 'mar_std', 3)} "
        f"(needs {_num(ev, 'threshold_mar_std', 3)}) around a mean of {_num(ev, 'mar_mean', 3)} (at most "
        f"{_num(ev, 'threshold_mar_mean', 3)}), while the head moved only {_num(ev, 'head_motion_deg')}° "
        f"(at most {_num(ev, 'threshold_head_motion_deg')}°). Without audio, quiet talking looks the same."
    )


def _reading(ev: Evidence) -> str:
    return (
        f"In {_num(ev, 'window_s')} s the eyes made {_num(ev, 'lines')} steady sweeps "
        f"(mean {_num(ev, 'mean_sweep_deg')}°) toward the image's {ev.get('sweep_toward', '?')}, each ended "
        f"by a return jump (mean {_num(ev, 'mean_jump_deg')}°); it counts from {_num(ev, 'threshold_lines')} "
        f"lines with jumps of at least {_num(ev, 'threshold_jump_deg')}°."
    )


def _stress(ev: Evidence) -> str:
    return (
        f"Over the last {_num(ev, 'window_s')} s the blink rate was {_num(ev, 'blink_rate_per_min')}/min "
        f"against the candidate's baseline of {_num(ev, 'baseline_blink_rate_per_min')}/min (limit "
        f"{_num(ev, 'threshold_blink_rate_per_min')}), and head jitter {_num(ev, 'head_jitter_deg_s')}°/s "
        f"against {_num(ev, 'baseline_head_jitter_deg_s')}°/s "
        f"(limit {_num(ev, 'threshold_head_jitter_deg_s')}); "
        f"required: {ev.get('require', 'both')}."
    )


DESCRIBE: dict[EventType, Callable[[Evidence], str]] = {
    EventType.MULTIPLE_FACES: lambda ev: _faces(ev, none=False),
    EventType.NO_FACE: lambda ev: _faces(ev, none=True),
    EventType.PHONE_DETECTED: lambda ev: _objects(ev, partial=False),
    EventType.PHONE_PARTIAL_DETECTED: lambda ev: _objects(ev, partial=True),
    EventType.SUSPICIOUS_OBJECT: lambda ev: _objects(ev, partial=False),
    EventType.EYES_OFF_SCREEN: _eyes_off,
    EventType.LOOKING_AWAY: _looking_away,
    EventType.WHISPERING: _whispering,
    EventType.READING_PATTERN: _reading,
    EventType.STRESS_HIGH: _stress,
    EventType.SECOND_VOICE: lambda ev: (
        f"Speech was heard ({_num(ev, 'rms_dbfs')} dBFS, speech probability {_num(ev, 'speech_prob', 2)}) "
        f"while the candidate's mouth was still (opening varied {_num(ev, 'mar_std', 3)} < "
        f"{_num(ev, 'threshold_still_mar_std', 3)}): someone else was talking."
    ),
    EventType.TAB_SWITCH: lambda ev: (
        f"The interview page was hidden or lost focus (visible: {ev.get('visible')}, focused: "
        f"{ev.get('focused')}, hidden {_num(ev, 'hidden_ms')} ms in the interval, "
        f"{_num(ev, 'blur_count')} blur(s))."
    ),
    EventType.SECOND_SCREEN: lambda ev: f"The page reported {_num(ev, 'screens')} screens attached.",
    EventType.PASTE: lambda ev: f"Text was pasted into the page {_num(ev, 'paste_count')} time(s).",
    EventType.IDENTITY_CHANGED: lambda ev: (
        f"The face in front of the camera is {_num(ev, 'distance', 2)} from the candidate enrolled at the "
        f"start (another person from {_num(ev, 'different_from', 2)}; the same below "
        f"{_num(ev, 'same_below', 2)}; dlib's threshold {_num(ev, 'threshold', 2)})."
    ),
}


def describe(event: EventRecord) -> str:
    """The event's measured values and thresholds in plain words, and how long it held."""
    ev = event.evidence
    try:
        text = DESCRIBE[event.type](ev) if event.type in DESCRIBE else ""
    except (TypeError, ValueError, KeyError):
        text = ""
    if not text:
        text = f"{event.type} was raised."
    if "policy" in ev:
        text += f" Allowed by the interview's policy ({ev['policy']})."
    if "held_s" in ev:
        text += (
            f" The condition held {_num(ev, 'held_s')} s over {_num(ev, 'frames')} frame(s) before it was "
            f"raised (it must hold {_num(ev, 'min_duration_s')} s)."
        )
    return text


def caption(event: EventRecord, origin: float | None = None) -> list[str]:
    """Short ASCII caption lines for the evidence image. Without the session's start (``origin``),
    stream times that look like Unix time are shown as UTC clock time."""
    ev = event.evidence
    ts = event.timestamp
    if origin is not None:
        when = f"{ts - origin:.1f} s"
    elif ts > 1e8:
        when = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    else:
        when = f"{ts:.1f} s"
    values = ", ".join(
        f"{k}={v}"
        for k, v in ev.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("threshold")
    )
    return [f"{event.type} ({event.severity}) at {when}", values[:90]]


# -- the chart ------------------------------------------------------------------------------------
def _nice_step(span: float, ticks: int = 8) -> float:
    raw = max(span, 1e-9) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def chart(record: SessionRecord, origin: float, numbers: Mapping[str, int]) -> str:
    width, height, left, right, top, bottom = 760, 240, 44, 12, 12, 34
    points = [(p.t - origin, p.risk) for p in record.risk_timeline]
    if record.stream_end is not None and (not points or record.stream_end - origin > points[-1][0]):
        points.append((record.stream_end - origin, record.final_risk_score))
    times = [t for t, _ in points] + [e.timestamp - origin for e in record.events] + [record.duration_seconds]
    span = max([1.0, *times])
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: float) -> float:
        return float(left + max(0.0, t) / span * plot_w)

    def y(risk: float) -> float:
        return float(top + (1 - min(100.0, max(0.0, risk)) / 100) * plot_h)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="risk-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="risk over time with the events marked">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for level in (0.0, 25.0, 50.0, 75.0, 100.0):
        parts.append(
            f'<text x="{left - 6}" y="{y(level) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#555">{level:g}</text>'
        )
    rules = record.rules
    for level, colour, name in (
        (rules.suspicious_threshold, "#c77700", "suspicious"),
        (rules.cheating_threshold, "#b3161b", "cheating"),
    ):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            f'stroke="{colour}" stroke-dasharray="5 4" stroke-width="1">'
            f"<title>{name} threshold {level:g}</title></line>"
            f'<text x="{left + plot_w - 4}" y="{y(level) - 3:.1f}" font-size="10" text-anchor="end" '
            f'fill="{colour}">{name} {level:g}</text>'
        )
    step = _nice_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
            'stroke="#888"/>'
            f'<text x="{x(tick):.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" '
            f'fill="#555">{tick:g}</text>'
        )
        tick += step
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 3}" font-size="11" text-anchor="middle" fill="#333">'
        "seconds from the start (stream time)</text>"
    )
    if points:
        line = " ".join(f"{x(t):.1f},{y(r):.1f}" for t, r in points)
        parts.append(
            f'<polyline class="risk" points="{line}" fill="none" stroke="#2a5db0" stroke-width="2"/>'
        )
    for event in record.events:
        t = event.timestamp - origin
        review = record.reviews.get(event.id)
        dismissed = review is not None and review.decision == "dismissed"
        colour = "#999" if dismissed else SEVERITY_COLOUR.get(event.severity, "#333")
        fill = "#fff" if dismissed else colour
        label = f"#{numbers.get(event.id, '?')} {event.type} at {t:.1f} s, risk {event.risk_after:g}"
        if review is not None:
            label += f" ({review.decision})"
        parts.append(
            f'<g class="event-marker"><line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{top + plot_h}" '
            f'stroke="{colour}" stroke-width="1" opacity="0.5"/>'
            f'<circle cx="{x(t):.1f}" cy="{y(event.risk_after):.1f}" r="5" fill="{fill}" stroke="{colour}" '
            f'stroke-width="2"><title>{esc(label)}</title></circle>'
            f'<text x="{x(t) + 6:.1f}" y="{y(event.risk_after) - 6:.1f}" font-size="10" fill="{colour}">'
            f"#{numbers.get(event.id, '?')}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


# -- the page ---------------------------------------------------------------------------------------
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222}
body{margin:24px auto;max-width:980px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}.verdicts{display:flex;gap:16px;flex-wrap:wrap;margin:16px 0}
.verdict{border:2px solid;border-radius:8px;padding:10px 14px;min-width:260px}
.verdict b{font-size:20px}.small{font-size:12px;color:#555}
table{border-collapse:collapse}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
.event{display:flex;gap:16px;border:1px solid #ddd;border-radius:8px;padding:12px;margin:12px 0}
.event img{width:320px;max-width:45%;height:auto;border-radius:4px;align-self:flex-start}
.event.dismissed{opacity:.7;background:#f6f6f6}.noimg{width:320px;max-width:45%;color:#777;font-style:italic}
.sev{display:inline-block;color:#fff;border-radius:4px;padding:0 6px;font-size:12px}
.review{margin-top:6px;padding:6px 8px;border-left:4px solid #888;background:#f3f3f3}
.review.confirmed{border-color:#b3161b}.review.dismissed{border-color:#1d7a35}
details{margin-top:6px}code{font-size:12px}
"""


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _policy(record: SessionRecord) -> str:
    """The interview's rules the session was judged under."""
    if record.policy is None:
        return '<p class="small">Judged under: the event table as configured (no interview policy).</p>'
    policy = record.policy
    return (
        f'<p class="small"><b>Judged under:</b> {esc(policy.description)}. '
        f"Set by: {esc('; '.join(policy.set_by))}.</p>"
    )


def _signals(record: SessionRecord) -> str:
    """Which signals beside the camera the session had: one not sent was not watched."""
    seen = record.browser
    line = "none sent" if seen is None or not (seen.audio or seen.client) else seen.describe()
    return (
        f'<p class="small"><b>Browser signals:</b> {esc(line)}. Voice, tab and screen events can only '
        "come from the signals the page sent; a signal never sent says nothing either way.</p>"
    )


def _verdict_box(title: str, verdict: str | None, reason: str | None, peak: float | None) -> str:
    if verdict is None:
        return (
            f'<div class="verdict" style="border-color:#bbb"><div class="small">{esc(title)}</div>'
            '<b>not reviewed</b><div class="small">no event has been reviewed yet</div></div>'
        )
    colour = VERDICT_COLOUR.get(verdict, "#333")
    peak_text = f"peak risk {peak:.1f}; " if peak is not None and "peak" not in (reason or "") else ""
    return (
        f'<div class="verdict" style="border-color:{colour}"><div class="small">{esc(title)}</div>'
        f'<b style="color:{colour}">{esc(verdict)}</b>'
        f'<div class="small">{esc(peak_text)}{esc(reason or "")}</div></div>'
    )


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_value(x)}" for k, x in v.items())
    return str(v)


def render_report(
    record: SessionRecord, images: Mapping[str, bytes] | None = None, title: str | None = None
) -> str:
    """The report as one HTML document. ``images``: event id -> JPEG thumbnail, embedded inline."""
    images = images or {}
    origin = record.stream_start
    if origin is None:
        origin = min([p.t for p in record.risk_timeline] + [e.timestamp for e in record.events], default=0.0)
    numbers = {e.id: i + 1 for i, e in enumerate(record.events)}
    dismissed = sum(r.decision == "dismissed" for r in record.reviews.values())
    confirmed = sum(r.decision == "confirmed" for r in record.reviews.values())
    heading = title or f"Interview integrity report: {record.candidate_id}"

    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(heading)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(heading)}</h1>",
        f'<div class="meta">Session <code>{esc(record.session_id)}</code> · {esc(record.status)} · started '
        f"{_when(record.started_at)} · ended {_when(record.ended_at)} · "
        f"{record.duration_seconds:.1f} s of stream, {record.frames_analyzed} frames analysed</div>",
        '<div class="verdicts">',
        _verdict_box("Automatic verdict", str(record.verdict), record.verdict_reason, record.peak_risk_score),
        _verdict_box(
            "Reviewed verdict",
            None if record.reviewed_verdict is None else str(record.reviewed_verdict),
            record.reviewed_verdict_reason,
            record.reviewed_peak_risk_score,
        ),
        "</div>",
        f'<p class="small">Verdicts are judged on the {esc(record.rules.basis)} risk: SUSPICIOUS at '
        f"{record.rules.suspicious_threshold:g} or more, CHEATING at "
        f"{record.rules.cheating_threshold:g} or more "
        f"with at least one event of severity {esc(record.rules.cheating_min_severity)} or worse. "
        f"{len(record.events)} event(s) raised; reviews: {confirmed} confirmed, {dismissed} dismissed. The "
        "reviewed verdict replays the same rules without the dismissed events.</p>",
        _policy(record),
        _signals(record),
        "<h2>Risk over time</h2>",
        chart(record, origin, numbers),
        "<h2>Models</h2><table>",
    ]
    for name, model in record.models.items():
        state = "ran throughout" if model.available else f"not available: {model.detail or 'unknown'}"
        out.append(f"<tr><th>{esc(name)}</th><td>{esc(state)}</td></tr>")
    out.append("</table>")
    if not record.models.get("objects", None) or not record.models["objects"].available:
        out.append(
            '<p class="small">Without the object model no phone or object was looked for: a CLEAN verdict '
            "says nothing about phones.</p>"
        )

    out.append(f"<h2>Events ({len(record.events)})</h2>")
    if record.events_truncated:
        out.append(f"<p>{record.events_truncated} further event(s) are counted but not listed.</p>")
    if not record.events:
        out.append("<p>No event was raised.</p>")
    for event in record.events:
        out.append(_event_card(event, numbers[event.id], origin, record, images.get(event.id)))
    if record.metadata:
        out.append("<h2>Session metadata</h2><table>")
        for key, value in record.metadata.items():
            out.append(f"<tr><th>{esc(key)}</th><td>{esc(_value(value))}</td></tr>")
        out.append("</table>")
    out.append(
        f'<p class="small">Generated {_when(datetime.now(UTC).timestamp())}. '
        + (f"Kept until {_when(record.kept_until)}." if record.kept_until else "")
        + "</p></body></html>"
    )
    return "\n".join(out)


def _event_card(
    event: EventRecord, number: int, origin: float, record: SessionRecord, image: bytes | None
) -> str:
    review = record.reviews.get(event.id)
    classes = "event" + (f" {review.decision}" if review else "")
    colour = SEVERITY_COLOUR.get(event.severity, "#333")
    if image:
        data = base64.b64encode(image).decode()
        picture = (
            f'<img class="evidence" src="data:image/jpeg;base64,{data}" '
            f'alt="evidence of event #{number}: {esc(event.type)}">'
        )
    else:
        picture = '<div class="noimg">no evidence image (not stored, or past its retention)</div>'
    rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td><td>{esc(_value(v))}</td></tr>" for k, v in event.evidence.items()
    )
    parts = [
        f'<div class="{classes}" id="event-{esc(event.id)}">{picture}<div>',
        f"<div><b>#{number} {esc(event.type)}</b> "
        f'<span class="sev" style="background:{colour}">{esc(event.severity)}</span> '
        f"at {event.timestamp - origin:.1f} s · risk +{event.risk_increase:g} → {event.risk_after:g} · "
        f"<code>{esc(event.id)}</code></div>",
        f"<p>{esc(describe(event))}</p>",
        f"<details><summary>Measured values</summary><table>{rows}</table></details>",
    ]
    if review is not None:
        note = f": {esc(review.note)}" if review.note else ""
        parts.append(
            f'<div class="review {esc(review.decision)}"><b>{esc(review.decision.upper())}</b> by reviewer '
            f"<code>{esc(review.reviewer)}</code> on {_when(review.at)}{note}</div>"
        )
    else:
        parts.append('<div class="review small">not reviewed</div>')
    parts.append("</div></div>")
    return "".join(parts)
