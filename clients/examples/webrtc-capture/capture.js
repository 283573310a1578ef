// WebRTC capture: getUserMedia → the client's stream helper (canvas → JPEG → WebSocket, at most one
// frame in flight, reconnect + resume). The session comes from the backend (express-backend/server.js),
// which keeps the API key; the page only ever holds the session token.
import { InterviewApiError, InterviewClient } from "/lib/client/index.js";

const $ = (id) => document.getElementById(id);
const log = (line) => ($("log").textContent = `${new Date().toLocaleTimeString()} ${line}\n` + $("log").textContent);

let streamer = null;
let camera = null;
let interview = null;

$("start").onclick = async () => {
  $("start").disabled = true;
  try {
    const response = await fetch("/api/interviews", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ candidateId: $("candidate").value }),
    });
    if (!response.ok) throw new Error(`backend: ${response.status} ${await response.text()}`);
    interview = await response.json(); // {sessionId, sessionToken, apiUrl}

    camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    $("camera").srcObject = camera;

    const client = new InterviewClient(interview.apiUrl, { sessionToken: interview.sessionToken });
    streamer = client.streamVideo(camera, {
      sessionId: interview.sessionId, // resume the backend's session over the WebSocket
      fps: 2,
      maxWidth: 640,
      onState: (state) => ($("state").textContent = state),
      onAnalysis: (r) => {
        $("risk").textContent = r.risk_score;
        $("faces").textContent = r.faces;
        $("gaze").textContent = r.gaze;
        $("sent").textContent = streamer.stats.sent;
        $("dropped").textContent = streamer.stats.dropped;
        for (const e of r.event_details) log(`${e.type} (${e.severity}) risk ${Math.round(e.risk_after)}`);
      },
      onError: (err) => log(err instanceof InterviewApiError ? `${err.status} ${err.code}: ${err.detail}` : String(err)),
    });
    await streamer.start();
    $("end").disabled = false;
    log(`streaming session ${interview.sessionId}`);
  } catch (err) {
    log(String(err));
    $("start").disabled = false;
  }
};

$("end").onclick = async () => {
  $("end").disabled = true;
  streamer.stop(); // stop sending; the backend ends the session with its API key
  for (const track of camera.getTracks()) track.stop();
  const response = await fetch(`/api/interviews/${interview.sessionId}/end`, { method: "POST" });
  const ended = await response.json();
  log(`verdict ${ended.verdict}: ${JSON.stringify(ended.events)}`);
  $("state").textContent = `ended: ${ended.verdict}`;
  $("start").disabled = false;
};
