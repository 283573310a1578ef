// The live demo: camera → the JavaScript client's stream helper (WebSocket, one frame in flight)
// → faces drawn over the video, gaze, attention, risk gauge, events, and the verdict after "end".
// No build step: the client is the ES module in clients/javascript/src, served under ./client/.
//
// Each frame also carries what the page measured since the previous one: its visibility and
// focus (always) and, with the microphone on, its level and speech likelihood (never the sound).
//
// Query parameters: candidate, token (API key or session token), session (resume this session,
// e.g. one your backend started; then token is its session token), fps, microphone=1, autostart=1.
import { AudioMeter, InterviewApiError, InterviewClient, PageSignals } from "./client/index.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(window.location.search);
// The service root: this page lives at <root>/demo/.
const apiUrl = new URL("..", window.location.href).href.replace(/\/$/, "");

let streamer = null;
let camera = null;
let events = [];
let meter = null; // the microphone's AudioMeter while it is on
let levelTimer = null;
let pageSignals = null;

if (params.get("candidate")) $("candidate").value = params.get("candidate");
if (params.get("token")) $("token").value = params.get("token");
if (params.get("fps")) $("fps").value = params.get("fps");
if (params.get("microphone") === "1") $("microphone").checked = true;

function show(id, text) {
  $(id).textContent = text;
}

function showError(err) {
  const box = $("error");
  box.hidden = false;
  box.textContent = err instanceof InterviewApiError ? `${err.status} ${err.code}: ${err.detail}` : String(err.message || err);
}

function setGauge(value) {
  const v = Math.max(0, Math.min(100, value || 0));
  const length = Math.PI * 40;
  const bar = $("gauge-bar");
  bar.style.strokeDasharray = `${(v / 100) * length} ${length}`;
  bar.style.stroke = v >= 60 ? "var(--bad)" : v >= 30 ? "var(--warn)" : "var(--ok)";
  $("gauge").setAttribute("aria-valuenow", String(Math.round(v)));
  show("gauge-value", String(Math.round(v)));
}

function drawFaces(result) {
  const overlay = $("overlay");
  overlay.replaceChildren();
  const details = result && result.details;
  if (!details || !details.image_width) return;
  const many = details.faces.length > 1;
  details.faces.forEach((face, i) => {
    const box = document.createElement("div");
    box.className = many ? "face-box many" : "face-box";
    box.style.left = `${(face.box.x / details.image_width) * 100}%`;
    box.style.top = `${(face.box.y / details.image_height) * 100}%`;
    box.style.width = `${(face.box.width / details.image_width) * 100}%`;
    box.style.height = `${(face.box.height / details.image_height) * 100}%`;
    const label = document.createElement("span");
    label.textContent = `face ${i + 1}`;
    box.append(label);
    overlay.append(box);
  });
}

function renderEvents() {
  const list = $("events");
  list.replaceChildren();
  if (events.length === 0) {
    const none = document.createElement("li");
    none.className = "none";
    none.textContent = "none yet";
    list.append(none);
    return;
  }
  for (const event of events) {
    const item = document.createElement("li");
    item.className = "event";
    const name = document.createElement("strong");
    name.textContent = event.type;
    const severity = document.createElement("span");
    severity.className = `sev ${event.severity}`;
    severity.textContent = event.severity;
    item.append(name, severity, ` +${event.risk_increase} → risk ${Math.round(event.risk_after)}`);
    list.append(item);
  }
}

function onAnalysis(result) {
  show("frames", String(streamer.stats.analysed));
  show("dropped", String(streamer.stats.dropped));
  show("faces", String(result.faces));
  show("gaze", result.gaze);
  show("attention", `${result.attention}%`);
  show("risk", String(result.risk_score));
  show("verdict-now", result.verdict);
  const objects = result.details.models && result.details.models.objects;
  show("objects", objects && !objects.available ? "model unavailable" : result.objects.map((o) => o.label).join(", ") || "none");
  setGauge(result.risk_score);
  drawFaces(result);
  if (result.event_details.length) {
    events = [...result.event_details.slice().reverse(), ...events];
    renderEvents();
  }
}

function showVerdict(summary) {
  const box = $("verdict");
  box.hidden = false;
  box.replaceChildren();
  const verdict = document.createElement("strong");
  verdict.id = "verdict-value";
  verdict.className = summary.verdict;
  verdict.textContent = summary.verdict;
  const counts = Object.entries(summary.summary.event_counts)
    .map(([type, n]) => `${type} ×${n}`)
    .join(", ");
  box.append(
    "Verdict: ",
    verdict,
    ` · ${summary.total_violations} events${counts ? ` (${counts})` : ""} · peak risk ${Math.round(summary.summary.peak_risk_score)}` +
      ` · ${summary.summary.frames_analyzed} frames over ${summary.duration_seconds.toFixed(1)} s`
  );
}

function showLevel() {
  const level = meter ? meter.level() : null;
  $("audio-level").value = level ?? -120;
  show("audio-dbfs", level == null ? (meter ? "not measured" : "-") : `${level.toFixed(1)} dBFS`);
}

async function microphoneOn() {
  if (meter) return;
  show("microphone-state", "microphone: asking");
  try {
    meter = await AudioMeter.fromMicrophone();
  } catch (err) {
    // Refused or missing: the frames go without audio (unknown), never with a made-up silence.
    show("microphone-state", `microphone: off (${err.name === "NotAllowedError" ? "refused" : err.message || err})`);
    $("microphone").checked = false;
    return;
  }
  show("microphone-state", "microphone: on");
  levelTimer = setInterval(showLevel, 200);
  showLevel();
}

function microphoneOff() {
  if (levelTimer) clearInterval(levelTimer);
  levelTimer = null;
  if (meter) meter.stop();
  meter = null;
  show("microphone-state", "microphone: off");
  showLevel();
}

function showPageSignals(signals) {
  const known = (value, yes, no) => (value == null ? `${yes}?` : value ? yes : no);
  const parts = [known(signals.visible, "visible", "hidden"), known(signals.focused, "focused", "unfocused")];
  if (signals.screens != null) parts.push(signals.screens > 1 ? "2+ screens" : "1 screen");
  if (signals.paste_count) parts.push(`${signals.paste_count} paste`);
  show("page-signals", parts.join(", "));
}

function stopSignals() {
  microphoneOff();
  if (pageSignals) pageSignals.stop();
  pageSignals = null;
}

function stopCamera() {
  if (camera) for (const track of camera.getTracks()) track.stop();
  camera = null;
  $("stage").classList.remove("live");
}

async function start(event) {
  if (event) event.preventDefault();
  $("start").disabled = true;
  $("error").hidden = true;
  $("verdict").hidden = true;
  events = [];
  renderEvents();
  try {
    show("state", "camera");
    camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    const video = $("camera");
    video.srcObject = camera;
    await video.play().catch(() => {}); // muted: autoplay is allowed; the streamer waits for a picture
    $("stage").classList.add("live");
    pageSignals = new PageSignals();
    if ($("microphone").checked) await microphoneOn();

    const token = $("token").value.trim() || null;
    const client = new InterviewClient(apiUrl, { sessionToken: token });
    streamer = client.streamVideo(video, {
      fps: Number($("fps").value) || 2,
      maxWidth: 640,
      quality: 0.8,
      candidateId: $("candidate").value.trim() || "demo-candidate",
      sessionId: params.get("session") || undefined,
      metadata: { via: "demo page" },
      // Functions, so that the microphone can be switched on and off while streaming.
      audioMeter: () => (meter ? meter.take() : null),
      pageSignals: () => {
        const signals = pageSignals ? pageSignals.take() : null;
        if (signals) showPageSignals(signals);
        return signals;
      },
      onAnalysis,
      onState: (state) => show("state", state),
      onDrop: (dropped) => show("dropped", String(dropped)),
      onError: showError,
    });
    const sessionId = await streamer.start();
    show("session-id", sessionId);
    $("end").disabled = false;
  } catch (err) {
    showError(err);
    show("state", "failed");
    stopSignals();
    stopCamera();
    streamer = null;
    $("start").disabled = false;
  }
}

async function end() {
  if (!streamer) return;
  $("end").disabled = true;
  try {
    const summary = await streamer.end();
    showVerdict(summary);
  } catch (err) {
    showError(err);
  } finally {
    streamer = null;
    stopSignals();
    stopCamera();
    $("overlay").replaceChildren();
    $("start").disabled = false;
  }
}

$("controls").addEventListener("submit", start);
$("end").addEventListener("click", end);
$("microphone").addEventListener("change", () => {
  if (!streamer) return; // taken into account at the next start
  if ($("microphone").checked) microphoneOn();
  else microphoneOff();
});
window.addEventListener("pagehide", () => {
  if (streamer) streamer.stop(); // the session stays open (resumable) until it ends or expires
  stopSignals();
});
if (params.get("autostart") === "1") start();
