// A stand-in for the Interview Integrity service (REST + /ws/stream) for the unit tests: real HTTP
// and WebSocket on 127.0.0.1, answers shaped like the API's, with hooks to slow it down, refuse
// requests or drop connections.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

// The first event of every session that has had a frame (records, evidence, reviews).
const EVENT = {
  id: "ev0001",
  type: "MULTIPLE_FACES",
  severity: "critical",
  risk_increase: 25,
  timestamp: 1.5,
  risk_after: 25,
  evidence: { faces: 2 },
};
// The smallest thing that starts and ends like a JPEG (the client does not decode it).
export const JPEG = [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xd9];

/**
 * A binary frame message as the service reads it (docs/API.md): the JPEG/PNG as it is, or "IFR1",
 * a 2-byte big-endian header length, the JSON header and the image. Answers the JSON message it
 * stands for, with `binary: true` and the image's bytes.
 */
export function decodeBinaryFrame(data) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "IFR1") {
    const isImage = (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) || (bytes[0] === 0x89 && magic.slice(1) === "PNG");
    if (!isImage) return { action: "invalid", detail: "binary message is neither a JPEG or PNG image nor an 'IFR1' frame" };
    return { action: "frame", binary: true, image: Array.from(bytes) };
  }
  const size = (bytes[4] << 8) | bytes[5];
  const header = size ? JSON.parse(new TextDecoder().decode(bytes.subarray(6, 6 + size))) : {};
  return { action: "frame", binary: true, header, ...header, image: Array.from(bytes.subarray(6 + size)) };
}

export async function startFakeService(options = {}) {
  const state = {
    sessions: new Map(), // id -> {frames, ended}
    requests: [], // {method, path, headers, body}
    wsUrls: [],
    wsMessages: [],
    inFlight: 0, // WebSocket frames received and not answered yet, over all connections
    maxInFlight: 0,
    frameDelayMs: options.frameDelayMs ?? 0,
    restHandler: options.restHandler || null, // (req, body) => {status, body, headers} | null
    wsHandler: options.wsHandler || null, // (message, socket, state) => true when handled
    sockets: new Set(),
  };
  let nextId = 1;

  function analysis(sessionId, timestamp) {
    const session = state.sessions.get(sessionId);
    session.frames += 1;
    return {
      session_id: sessionId,
      cheating: false,
      risk_score: 0,
      attention: 100,
      gaze: "center",
      faces: 1,
      objects: [],
      events: [],
      processing_time_ms: state.frameDelayMs,
      timestamp: timestamp ?? Date.now() / 1000,
      verdict: "CLEAN",
      event_details: [],
      details: { image_width: 64, image_height: 48, faces: [{ box: { x: 1, y: 2, width: 30, height: 30 } }] },
    };
  }

  function ended(sessionId) {
    const session = state.sessions.get(sessionId);
    session.ended = true;
    return {
      session_id: sessionId,
      final_risk_score: 0,
      verdict: "CLEAN",
      total_violations: 0,
      duration_seconds: 1,
      summary: { frames_analyzed: session.frames, event_counts: {} },
    };
  }

  function refuse(status, code, detail) {
    return { status, body: { detail, code } };
  }

  function lookup(sessionId) {
    const session = state.sessions.get(sessionId);
    if (!session) return refuse(404, "session_not_found", `no session ${sessionId}`);
    if (session.ended) return refuse(409, "session_ended", "the session was ended");
    return null;
  }

  function record(sessionId) {
    const session = state.sessions.get(sessionId);
    const events = session.frames > 0 ? [{ ...EVENT, evidence_url: `/sessions/${sessionId}/events/ev0001/evidence`, review: session.reviews.ev0001 ?? null }] : [];
    return {
      session_id: sessionId,
      status: session.ended ? "ended" : "active",
      candidate_id: session.candidate,
      started_at: 1000,
      duration_seconds: 1,
      frames_analyzed: session.frames,
      verdict: "CLEAN",
      verdict_reason: "peak risk 25.0 < 30",
      final_risk_score: 25,
      peak_risk_score: 25,
      events,
      reviews: session.reviews,
      reviewed_verdict: Object.keys(session.reviews).length ? "CLEAN" : null,
      rules: { basis: "peak", suspicious_threshold: 30, cheating_threshold: 60, cheating_min_severity: "high" },
    };
  }

  function records(method, url, body) {
    const match = /^\/sessions\/([^/]+)(?:\/(report)|\/events\/([^/]+)\/(evidence|review))?$/.exec(url);
    if (!match) return null;
    const [, rawId, report, rawEvent, action] = match;
    const sessionId = decodeURIComponent(rawId);
    const session = state.sessions.get(sessionId);
    if (!session) return refuse(404, "session_not_found", `no session ${sessionId}`);
    if (!rawEvent) {
      if (report) return { status: 200, raw: `<!doctype html><title>${sessionId}</title>`, type: "text/html; charset=utf-8" };
      return { status: 200, body: record(sessionId) };
    }
    const eventId = decodeURIComponent(rawEvent);
    if (session.frames === 0 || eventId !== EVENT.id) {
      return action === "evidence"
        ? refuse(404, "evidence_not_found", `no evidence for ${eventId}`)
        : refuse(404, "event_not_found", `no event ${eventId}`);
    }
    if (action === "evidence") return { status: 200, raw: Buffer.from(JPEG), type: "image/jpeg" };
    if (method !== "POST") return refuse(405, "method_not_allowed", "POST a review");
    const review = { event_id: eventId, decision: body.decision, note: body.note ?? null, reviewer: "open", at: 1001 };
    session.reviews[eventId] = review;
    const reviewed = body.decision === "dismissed" ? "CLEAN" : "SUSPICIOUS";
    return {
      status: 200,
      body: { session_id: sessionId, event_id: eventId, review, verdict: "SUSPICIOUS", reviewed_verdict: reviewed, reviewed_verdict_reason: "fake" },
    };
  }

  function start(body) {
    const id = `s-${nextId++}`;
    state.sessions.set(id, { frames: 0, ended: false, candidate: body.candidate_id, reviews: {} });
    return { session_id: id, session_token: `token-${id}`, message: "Session started", timestamp: Date.now() / 1000 };
  }

  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", async () => {
      const body = raw ? JSON.parse(raw) : null;
      state.requests.push({ method: req.method, path: req.url, headers: req.headers, body });
      let answer = state.restHandler ? await state.restHandler(req, body, state) : null;
      if (!answer) {
        if (req.url === "/start-session") {
          answer = body.candidate_id
            ? { status: 200, body: start(body) }
            : { status: 422, body: { detail: "candidate_id: too short", code: "validation_error", errors: [{ loc: ["body", "candidate_id"], msg: "too short", type: "string_too_short" }] } };
        } else if (req.url === "/analyze-frame") {
          answer = lookup(body.session_id) || { status: 200, body: analysis(body.session_id, body.timestamp) };
        } else if (req.url === "/end-session") {
          answer = lookup(body.session_id) || { status: 200, body: ended(body.session_id) };
        } else if (req.url.startsWith("/sessions/")) {
          answer = records(req.method, req.url, body) || refuse(404, "not_found", "no such route");
        } else if (req.url === "/health") {
          answer = { status: 200, body: { status: "ok", service: "interview-integrity", models: {} } };
        } else {
          answer = refuse(404, "not_found", "no such route");
        }
      }
      if (answer.raw !== undefined) {
        res.writeHead(answer.status, { "content-type": answer.type, ...(answer.headers || {}) });
        res.end(answer.raw);
        return;
      }
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { "content-type": "application/json", ...(answer.headers || {}) });
      res.end(text);
    });
  });

  const wss = new WebSocketServer({ server, path: "/ws/stream" });
  wss.on("connection", (socket, req) => {
    state.wsUrls.push(req.url);
    state.sockets.add(socket);
    socket.on("close", () => state.sockets.delete(socket));
    let sessionId = null;
    const send = (payload) => socket.readyState === 1 && socket.send(JSON.stringify(payload));
    const error = (status, code, detail) => send({ type: "error", status, code, detail });
    socket.on("message", async (data, isBinary) => {
      const message = isBinary ? decodeBinaryFrame(data) : JSON.parse(String(data));
      if (message.action === "invalid") return error(400, "bad_message", message.detail);
      state.wsMessages.push(message);
      if (state.wsHandler && (await state.wsHandler(message, socket, state))) return;
      if (message.action === "start") {
        const started = start(message);
        sessionId = started.session_id;
        send({ type: "session_started", ...started });
      } else if (message.action === "resume") {
        const refused = lookup(message.session_id);
        if (refused) return error(refused.status, refused.body.code, refused.body.detail);
        sessionId = message.session_id;
        send({ type: "session_resumed", session_id: sessionId });
      } else if (message.action === "frame") {
        if (!sessionId) return error(400, "bad_message", "no session on this connection");
        state.inFlight += 1;
        state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
        await new Promise((resolve) => setTimeout(resolve, state.frameDelayMs));
        state.inFlight -= 1;
        const refused = lookup(sessionId);
        if (refused) return error(refused.status, refused.body.code, refused.body.detail);
        send({ type: "analysis", ...analysis(sessionId, message.timestamp) });
      } else if (message.action === "end") {
        send({ type: "session_ended", ...ended(sessionId) });
        socket.close(1000);
      } else {
        error(400, "bad_message", "unknown action");
      }
    });
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    /** Drop every WebSocket connection abruptly (as a network failure would). */
    dropConnections() {
      for (const socket of state.sockets) socket.terminate();
    },
    async close() {
      for (const socket of state.sockets) socket.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
