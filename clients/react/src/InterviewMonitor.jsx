// <InterviewMonitor apiUrl candidateId />: the candidate's camera with the detected faces drawn
// over it, gaze, attention, a live risk gauge, the events as they are raised, and the verdict once
// the interview is ended. Frames go over one WebSocket with the client's FrameStreamer (at most one
// frame in flight; it reconnects and resumes by itself). Each frame carries what the page measured
// since the previous one: its visibility and focus (`pageSignals`, on by default) and, with
// `microphone`, the microphone's level and speech likelihood (two numbers, never the sound).
import { AudioMeter, InterviewClient, PageSignals } from "@interview-integrity/client";
import { useCallback, useEffect, useRef, useState } from "react";

const SEVERITY_COLOURS = { low: "#6b7280", medium: "#d97706", high: "#dc2626", critical: "#7f1d1d" };
const VERDICT_COLOURS = { CLEAN: "#15803d", SUSPICIOUS: "#b45309", CHEATING: "#b91c1c", INCONCLUSIVE: "#4b5563" };

function riskColour(value) {
  if (value >= 60) return "#dc2626";
  if (value >= 30) return "#d97706";
  return "#16a34a";
}

/** A half-circle gauge of the session's risk, 0-100. */
export function RiskGauge({ value, size = 160 }) {
  const clamped = Math.max(0, Math.min(100, value || 0));
  const radius = 40;
  const length = Math.PI * radius;
  return (
    <svg
      viewBox="0 0 100 60"
      width={size}
      height={(size * 60) / 100}
      role="meter"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={clamped}
      aria-label="risk"
      data-testid="risk-gauge"
    >
      <path d="M10 50 A40 40 0 0 1 90 50" fill="none" stroke="#e5e7eb" strokeWidth="10" strokeLinecap="round" />
      <path
        d="M10 50 A40 40 0 0 1 90 50"
        fill="none"
        stroke={riskColour(clamped)}
        strokeWidth="10"
        strokeLinecap="round"
        strokeDasharray={`${(clamped / 100) * length} ${length}`}
      />
      <text x="50" y="48" textAnchor="middle" fontSize="18" fontWeight="600" fill="#111827">
        {Math.round(clamped)}
      </text>
    </svg>
  );
}

/** "microphone: on" and a level meter (dBFS, -120 to 0) while it is on. */
function MicrophoneLevel({ state, level }) {
  return (
    <div style={styles.audio}>
      <span data-testid="microphone">microphone: {state}</span>
      {state === "on" ? (
        <>
          <meter
            data-testid="audio-level"
            min={-120}
            max={0}
            low={-70}
            high={-10}
            optimum={-40}
            value={level ?? -120}
            style={{ width: 120 }}
            title="microphone level, dBFS"
          />
          <span data-testid="audio-dbfs" style={{ color: "#6b7280", fontSize: 13 }}>
            {level == null ? "not measured" : `${level.toFixed(1)} dBFS`}
          </span>
        </>
      ) : null}
    </div>
  );
}

function FaceBoxes({ result }) {
  const details = result && result.details;
  if (!details || !details.image_width || !Array.isArray(details.faces)) return null;
  const { image_width: w, image_height: h } = details;
  return details.faces.map((face, i) => (
    <div
      key={i}
      className="iim-face-box"
      data-testid="face-box"
      style={{
        position: "absolute",
        left: `${(face.box.x / w) * 100}%`,
        top: `${(face.box.y / h) * 100}%`,
        width: `${(face.box.width / w) * 100}%`,
        height: `${(face.box.height / h) * 100}%`,
        border: `3px solid ${details.faces.length > 1 ? "#dc2626" : "#22c55e"}`,
        borderRadius: 6,
        boxSizing: "border-box",
        pointerEvents: "none",
      }}
    />
  ));
}

const styles = {
  root: { display: "flex", flexWrap: "wrap", gap: 16, fontFamily: "system-ui, sans-serif", color: "#111827" },
  stage: { position: "relative", display: "inline-block", maxWidth: 640, width: "100%", background: "#000", borderRadius: 8, overflow: "hidden" },
  video: { display: "block", width: "100%", height: "auto" },
  panel: { minWidth: 240, flex: "1 1 240px" },
  stats: { display: "grid", gridTemplateColumns: "auto 1fr", gap: "4px 12px", margin: "8px 0" },
  events: { listStyle: "none", padding: 0, margin: 0, maxHeight: 220, overflowY: "auto" },
  button: { padding: "8px 14px", borderRadius: 6, border: "1px solid #d1d5db", background: "#f9fafb", cursor: "pointer" },
  audio: { display: "flex", alignItems: "center", gap: 8, margin: "8px 0" },
};

export function InterviewMonitor({
  apiUrl,
  candidateId,
  sessionId,
  sessionToken,
  apiKey,
  metadata,
  fps = 2,
  maxWidth = 640,
  autoStart = true,
  showEndButton = true,
  microphone = false,
  pageSignals = true,
  onSession,
  onAnalysis,
  onEnded,
  onError,
  onState,
  className,
  style,
}) {
  const videoRef = useRef(null);
  const streamerRef = useRef(null);
  const cameraRef = useRef(null);
  const meterRef = useRef(null); // the microphone's AudioMeter while it is on
  const signalsRef = useRef(null); // the page's PageSignals while streaming
  const callbacks = useRef({});
  callbacks.current = { onSession, onAnalysis, onEnded, onError, onState };

  const [state, setState] = useState("idle");
  const [result, setResult] = useState(null);
  const [events, setEvents] = useState([]);
  const [summary, setSummary] = useState(null);
  const [error, setError] = useState(null);
  const [frames, setFrames] = useState(0);
  const [activeSession, setActiveSession] = useState(sessionId || null);
  const [microphoneState, setMicrophoneState] = useState("off");
  const [level, setLevel] = useState(null);

  const report = useCallback((err) => {
    setError(err.message || String(err));
    if (callbacks.current.onError) callbacks.current.onError(err);
  }, []);

  const microphoneOn = useCallback(async () => {
    if (meterRef.current) return;
    setMicrophoneState("asking");
    try {
      meterRef.current = await AudioMeter.fromMicrophone();
      setMicrophoneState("on");
    } catch (err) {
      // Refused or missing: frames go without audio (unknown), never with a made-up silence.
      setMicrophoneState(err && err.name === "NotAllowedError" ? "off (refused)" : "off (unavailable)");
    }
  }, []);

  const microphoneOff = useCallback(() => {
    if (meterRef.current) meterRef.current.stop();
    meterRef.current = null;
    setMicrophoneState("off");
    setLevel(null);
  }, []);

  const stopSignals = useCallback(() => {
    microphoneOff();
    if (signalsRef.current) signalsRef.current.stop();
    signalsRef.current = null;
  }, [microphoneOff]);

  const start = useCallback(async () => {
    if (streamerRef.current) return;
    setError(null);
    setSummary(null);
    setEvents([]);
    setFrames(0);
    try {
      setState("camera");
      if (callbacks.current.onState) callbacks.current.onState("camera");
      const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      cameraRef.current = camera;
      const video = videoRef.current;
      video.srcObject = camera;
      await video.play().catch(() => {}); // muted autoplay; the streamer waits for a picture anyway
      if (pageSignals) signalsRef.current = new PageSignals();
      if (microphone) await microphoneOn();
      const client = new InterviewClient(apiUrl, { apiKey, sessionToken });
      const streamer = client.streamVideo(video, {
        fps,
        maxWidth,
        candidateId,
        sessionId,
        metadata,
        // Functions, so that the microphone can go on and off while streaming.
        audioMeter: () => (meterRef.current ? meterRef.current.take() : null),
        pageSignals: () => (signalsRef.current ? signalsRef.current.take() : null),
        onSession: (started) => {
          setActiveSession(started.session_id);
          if (callbacks.current.onSession) callbacks.current.onSession(started);
        },
        onAnalysis: (analysis) => {
          setResult(analysis);
          setFrames((n) => n + 1);
          if (analysis.event_details && analysis.event_details.length) {
            setEvents((list) => [...analysis.event_details, ...list]);
          }
          if (callbacks.current.onAnalysis) callbacks.current.onAnalysis(analysis);
        },
        onState: (s) => {
          setState(s);
          if (callbacks.current.onState) callbacks.current.onState(s);
        },
        onError: report,
      });
      streamerRef.current = streamer;
      setActiveSession(await streamer.start());
    } catch (err) {
      streamerRef.current = null;
      stopSignals();
      setState("failed");
      report(err);
    }
  }, [apiUrl, apiKey, sessionToken, candidateId, sessionId, metadata, fps, maxWidth, microphone, pageSignals, microphoneOn, stopSignals, report]);

  const stopCamera = useCallback(() => {
    const camera = cameraRef.current;
    cameraRef.current = null;
    if (camera) for (const track of camera.getTracks()) track.stop();
  }, []);

  // The `microphone` prop switched while streaming: follow it (before a start, start() reads it).
  useEffect(() => {
    if (!streamerRef.current) return;
    if (microphone) microphoneOn();
    else microphoneOff();
  }, [microphone, microphoneOn, microphoneOff]);

  // The level meter, a few times a second while the microphone is on.
  useEffect(() => {
    if (microphoneState !== "on") return undefined;
    const timer = setInterval(() => setLevel(meterRef.current ? meterRef.current.level() : null), 200);
    return () => clearInterval(timer);
  }, [microphoneState]);

  const end = useCallback(async () => {
    const streamer = streamerRef.current;
    if (!streamer) return;
    try {
      const ended = await streamer.end();
      setSummary(ended);
      if (callbacks.current.onEnded) callbacks.current.onEnded(ended);
    } catch (err) {
      report(err);
    } finally {
      streamerRef.current = null;
      stopSignals();
      stopCamera();
    }
  }, [report, stopCamera, stopSignals]);

  useEffect(() => {
    if (autoStart) start();
    return () => {
      if (streamerRef.current) streamerRef.current.stop(); // the session stays open: resumable
      streamerRef.current = null;
      stopSignals();
      stopCamera();
    };
    // Start once per mount; changing the props afterwards does not restart the interview.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const streaming = state === "streaming" || state === "reconnecting";
  return (
    <div className={["iim", className].filter(Boolean).join(" ")} style={{ ...styles.root, ...style }} data-state={state}>
      <div className="iim-stage" style={styles.stage}>
        <video ref={videoRef} autoPlay muted playsInline style={styles.video} data-testid="camera" />
        {summary ? null : <FaceBoxes result={result} />}
      </div>
      <div className="iim-panel" style={styles.panel}>
        <RiskGauge value={result ? result.risk_score : 0} />
        {microphone || microphoneState !== "off" ? <MicrophoneLevel state={microphoneState} level={level} /> : null}
        <div style={styles.stats}>
          <span>Status</span>
          <strong data-testid="state">{state}</strong>
          <span>Session</span>
          <code data-testid="session-id">{activeSession || "–"}</code>
          <span>Frames analysed</span>
          <strong data-testid="frames">{frames}</strong>
          <span>Faces</span>
          <strong data-testid="faces">{result ? result.faces : "–"}</strong>
          <span>Gaze</span>
          <strong data-testid="gaze">{result ? result.gaze : "–"}</strong>
          <span>Attention</span>
          <strong data-testid="attention">{result ? `${result.attention}%` : "–"}</strong>
          <span>Risk</span>
          <strong data-testid="risk">{result ? result.risk_score : 0}</strong>
        </div>
        {!autoStart && !streaming && !summary ? (
          <button type="button" style={styles.button} onClick={start} data-testid="start">
            Start interview
          </button>
        ) : null}
        {showEndButton && streaming ? (
          <button type="button" style={styles.button} onClick={end} data-testid="end">
            End interview
          </button>
        ) : null}
        {summary ? (
          <div data-testid="verdict-panel" style={{ marginTop: 12 }}>
            Verdict:{" "}
            <strong data-testid="verdict" style={{ color: VERDICT_COLOURS[summary.verdict] }}>
              {summary.verdict}
            </strong>{" "}
            ({summary.total_violations} events, peak risk {Math.round(summary.summary.peak_risk_score ?? summary.final_risk_score)})
          </div>
        ) : null}
        {error ? (
          <div role="alert" data-testid="error" style={{ color: "#b91c1c", marginTop: 8 }}>
            {error}
          </div>
        ) : null}
        <h4 style={{ margin: "12px 0 4px" }}>Events</h4>
        <ul style={styles.events} data-testid="events">
          {events.length === 0 ? <li style={{ color: "#6b7280" }}>none yet</li> : null}
          {events.map((event, i) => (
            <li key={`${event.type}-${event.timestamp}-${i}`} data-testid="event" style={{ color: SEVERITY_COLOURS[event.severity] }}>
              <strong>{event.type}</strong> ({event.severity}, +{event.risk_increase}) at {Number(event.timestamp).toFixed(1)} s
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
