// The JavaScript client in Node against a running service: REST, typed errors, session records
// (record, evidence, review, report), the WebSocket stream and the frame streamer. Run by tests/browser (pytest) against the real application, or by
// hand:
//
//   make run        # or any deployment
//   node clients/javascript/scripts/check-service.mjs http://127.0.0.1:8000 ../shared/fixtures [API_KEY]
//
// Exits non-zero on the first failed check. Node 20 has no global WebSocket: the `ws` package
// (a dev dependency of this package) stands in.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import WebSocket from "ws";

import {
  EvidenceNotFoundError,
  InterviewClient,
  SessionEndedError,
  SessionNotFoundError,
} from "../src/index.js";

const [baseUrl = "http://127.0.0.1:8000", fixtures = "../shared/fixtures", apiKey] = process.argv.slice(2);
const twoFaces = readFileSync(join(fixtures, "A03_two_faces_webcam.png"));
const oneFace = readFileSync(join(fixtures, "A01_frontal_webcam_man.png"));
const times = [0, 0.5, 1.0, 1.5];

const client = new InterviewClient(baseUrl, { timeout: 120000, apiKey, WebSocket: globalThis.WebSocket || WebSocket });

const health = await client.health();
assert.equal(health.service, "interview-integrity");
assert.equal(health.models.face.available, true);

// REST: bytes in, base64 done by the client.
const { session_id: sessionId } = await client.startSession("js-client", { metadata: { round: 1 }, timestamp: 0 });
const rest = [];
for (const t of times) rest.push(await client.analyzeFrame(sessionId, twoFaces, { timestamp: t }));
assert.deepEqual(rest.map((r) => r.faces), [2, 2, 2, 2]);
assert.deepEqual(rest.flatMap((r) => r.events.map((e) => [r.timestamp, e])), [[1.5, "MULTIPLE_FACES"]]);
const ended = await client.endSession(sessionId);
assert.deepEqual(ended.summary.event_counts, { MULTIPLE_FACES: 1 });
await assert.rejects(client.endSession(sessionId), SessionEndedError);

// The ended session's record, its event's evidence (JPEG bytes), a review and the report.
const record = await client.getRecord(sessionId);
assert.equal(record.status, "ended");
assert.deepEqual(record.events.map((e) => e.type), ["MULTIPLE_FACES"]);
const [event] = record.events;
assert.equal(event.evidence_url, `/sessions/${sessionId}/events/${event.id}/evidence`);
const image = await client.getEvidence(sessionId, event.id);
assert.ok(image instanceof Uint8Array && image.length > 1000);
assert.deepEqual([...image.subarray(0, 3)], [0xff, 0xd8, 0xff]);
const reviewed = await client.reviewEvent(sessionId, event.id, "dismissed", { note: "from node" });
assert.equal(reviewed.review.decision, "dismissed");
assert.equal(reviewed.reviewed_verdict, "CLEAN");
assert.equal((await client.getRecord(sessionId)).reviews[event.id].note, "from node");
const report = await client.getReport(sessionId);
assert.match(report, /^<!DOCTYPE html>/);
assert.ok(report.includes("from node"));
await assert.rejects(client.getEvidence(sessionId, "ev9999"), EvidenceNotFoundError);

// Too little observed (two frames 3 s apart: the time between had no frames): INCONCLUSIVE, which
// the client's types and the answer accept.
const { session_id: shortId } = await client.startSession("js-inconclusive", { timestamp: 0 });
await client.analyzeFrame(shortId, oneFace, { timestamp: 0 });
assert.equal((await client.analyzeFrame(shortId, oneFace, { timestamp: 3 })).verdict, "INCONCLUSIVE");
const short = await client.endSession(shortId);
assert.equal(short.verdict, "INCONCLUSIVE");
assert.equal(short.summary.verdict_basis.verdict, "INCONCLUSIVE");
assert.equal((await client.getRecord(shortId)).verdict, "INCONCLUSIVE");
await assert.rejects(client.analyzeFrame("no-such-session", twoFaces, 0), (err) => {
  assert.ok(err instanceof SessionNotFoundError);
  assert.equal(err.status, 404);
  return true;
});

// WebSocket: the same frames, sent without awaiting each (they wait their turn, in order).
const ws = await client.connect();
await ws.start("js-client", { metadata: { round: 1 }, timestamp: 0 });
const base64 = twoFaces.toString("base64");
const streamed = await Promise.all(times.map((t) => ws.sendFrame(base64, t)));
assert.deepEqual(streamed.map((r) => r.timestamp), times);
assert.deepEqual(streamed.map((r) => r.events), rest.map((r) => r.events));
const wsEnded = await ws.end();
assert.equal(wsEnded.verdict, ended.verdict);
assert.equal(wsEnded.total_violations, 1);

// The frame streamer: 5 frames/s offered, one in flight, then end.
const streamer = client.streamVideo(() => oneFace, { fps: 5, candidateId: "js-streamer" });
await streamer.start();
while (streamer.stats.analysed < 3) await new Promise((resolve) => setTimeout(resolve, 50));
const summary = await streamer.end();
assert.equal(streamer.stats.maxInFlight, 1);
assert.equal(summary.summary.frames_analyzed, streamer.stats.analysed);
assert.equal(streamer.lastResult.faces, 1);
console.log(`javascript client: ok (${streamer.stats.analysed} streamed, ${streamer.stats.dropped} dropped)`);
