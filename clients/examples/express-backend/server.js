// A platform backend in front of the Interview Integrity service.
//
// The API key never leaves this server: it starts the session, and hands the candidate's browser
// only the session id and its session token (which can send frames for that session and nothing
// else). The browser streams frames straight to the service over WebSocket; ending the session and
// reading the verdict go through this server again, with the API key.
//
//   INTEGRITY_API_URL=http://localhost:8000 INTEGRITY_API_KEY=... PORT=3000 npm start
//   open http://localhost:3000/          (the WebRTC capture page, ../webrtc-capture)
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { InterviewApiError, InterviewClient } from "@interview-integrity/client";
import express from "express";

const here = dirname(fileURLToPath(import.meta.url));
const CAPTURE_PAGE = join(here, "..", "webrtc-capture");
const CLIENT_SRC = dirname(fileURLToPath(import.meta.resolve("@interview-integrity/client")));

/**
 * @param {{apiUrl: string, apiKey?: string, publicApiUrl?: string, fetch?: typeof fetch}} options
 *   apiUrl: where this server reaches the service; publicApiUrl: where browsers reach it (default
 *   apiUrl); apiKey: the platform's key (optional while the service runs without authentication)
 */
export function createApp({ apiUrl, apiKey, publicApiUrl, fetch }) {
  const integrity = new InterviewClient(apiUrl, { apiKey, fetch });
  const app = express();
  app.use(express.json());

  // In a real platform: check that the caller is logged in and is this interview's candidate.
  app.post("/api/interviews", async (req, res, next) => {
    try {
      const candidateId = String(req.body?.candidateId || "").trim();
      if (!candidateId) return res.status(400).json({ error: "candidateId is required" });
      const started = await integrity.startSession(candidateId, { metadata: { via: "express-example" } });
      res.json({
        sessionId: started.session_id,
        sessionToken: started.session_token ?? null, // null while the service runs without auth
        apiUrl: publicApiUrl || apiUrl,
      });
    } catch (err) {
      next(err);
    }
  });

  app.post("/api/interviews/:sessionId/end", async (req, res, next) => {
    try {
      const ended = await integrity.endSession(req.params.sessionId);
      res.json({ verdict: ended.verdict, totalViolations: ended.total_violations, events: ended.summary.event_counts });
    } catch (err) {
      next(err);
    }
  });

  app.use("/lib/client", express.static(CLIENT_SRC)); // the ES-module client, for the page
  app.use(express.static(CAPTURE_PAGE));

  app.use((err, req, res, _next) => {
    if (err instanceof InterviewApiError) {
      // The service's refusal, passed on without the API key or upstream details that matter only here.
      return res.status(err.status >= 500 ? 502 : err.status).json({ error: err.code, detail: err.detail });
    }
    console.error(err);
    res.status(502).json({ error: "integrity_service_unreachable" });
  });
  return app;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const apiUrl = process.env.INTEGRITY_API_URL || "http://localhost:8000";
  const port = Number(process.env.PORT || 3000);
  createApp({ apiUrl, apiKey: process.env.INTEGRITY_API_KEY, publicApiUrl: process.env.INTEGRITY_PUBLIC_URL }).listen(
    port,
    () => console.log(`interview backend on http://localhost:${port} (service: ${apiUrl})`)
  );
}
