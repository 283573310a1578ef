// A manual smoke test of javascript_client.js against a running service (not run by CI).
//
//   make run                       # or any running deployment
//   node --experimental-websocket clients/check_javascript_client.mjs http://127.0.0.1:8000 ../shared/fixtures
//
// (Node >= 22 needs no flag.) Exits non-zero on the first failed check.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { InterviewApiError, InterviewClient } from "./javascript_client.js";

const baseUrl = process.argv[2] || "http://127.0.0.1:8000";
const fixtures = process.argv[3] || "../shared/fixtures";
const twoFaces = readFileSync(join(fixtures, "A03_two_faces_webcam.png"));
const times = [0, 0.5, 1.0, 1.5];

const client = new InterviewClient(baseUrl, { timeout: 120000 });

const health = await client.health();
assert.equal(health.service, "interview-integrity");
assert.equal(health.models.face.available, true);

// REST: bytes in, base64 done by the client.
const sessionId = await client.startSession("js-client", { round: 1 }, 0);
const rest = [];
for (const t of times) rest.push(await client.analyzeFrame(sessionId, twoFaces, t));
assert.deepEqual(rest.map((r) => r.faces), [2, 2, 2, 2]);
assert.deepEqual(rest.flatMap((r) => r.events.map((e) => [r.timestamp, e])), [[1.5, "MULTIPLE_FACES"]]);
const ended = await client.endSession(sessionId);
assert.deepEqual(ended.summary.event_counts, { MULTIPLE_FACES: 1 });

// Errors.
await assert.rejects(client.analyzeFrame("no-such-session", twoFaces, 0), (err) => {
  assert.ok(err instanceof InterviewApiError);
  assert.equal(err.status, 404);
  assert.equal(err.code, "session_not_found");
  return true;
});

// WebSocket: the same frames, sent without awaiting each (the stream queues them in order).
if (typeof globalThis.WebSocket === "function") {
  const ws = await client.stream();
  await assert.rejects(ws.sendFrame(twoFaces, 0), (err) => err.code === "bad_message" && err.status === 400);
  await ws.start("js-client", { round: 1 }, 0);
  const base64 = twoFaces.toString("base64");
  const streamed = await Promise.all(times.map((t) => ws.sendFrame(base64, t)));
  assert.deepEqual(streamed.map((r) => r.timestamp), times);
  assert.deepEqual(streamed.map((r) => r.faces), [2, 2, 2, 2]);
  assert.deepEqual(streamed.map((r) => r.events), rest.map((r) => r.events));
  assert.ok(streamed.every((r) => r.type === undefined && r.session_id === ws.sessionId));
  const wsEnded = await ws.end();
  assert.equal(wsEnded.verdict, ended.verdict);
  assert.equal(wsEnded.total_violations, 1);
  assert.equal(ws.closed, true);
  console.log("websocket: ok");
} else {
  console.log("websocket: skipped (no global WebSocket; use Node >= 22 or --experimental-websocket)");
}
console.log("javascript client: ok");
