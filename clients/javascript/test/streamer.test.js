// The stream helper against a slow server: at most one frame in flight (frames are dropped, never
// queued), reconnect + resume when the connection drops, and the WebSocket protocol underneath.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";

import {
  BadMessageError,
  FrameStreamer,
  InterviewClient,
  InterviewConnectionError,
  QueueFullError,
  SessionExpiredError,
  SessionNotFoundError,
} from "../src/index.js";
import { startFakeService } from "./fake-service.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const FRAME = Buffer.from("not really a jpeg").toString("base64");

async function waitFor(predicate, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("FrameStreamer", () => {
  let service;
  before(async () => {
    service = await startFakeService();
  });
  after(() => service.close());

  test("keeps at most one frame in flight against a slow server: drops, never queues", async () => {
    service.state.frameDelayMs = 200; // 5 answers/s at best
    service.state.maxInFlight = 0;
    const client = new InterviewClient(service.url, { WebSocket });
    let grabs = 0;
    const results = [];
    const streamer = client.streamVideo(
      () => {
        grabs += 1;
        return FRAME;
      },
      { fps: 25, candidateId: "slow-server", onAnalysis: (r) => results.push(r) }
    );
    assert.ok(streamer instanceof FrameStreamer);
    const sessionId = await streamer.start();
    assert.equal(streamer.state, "streaming");
    await sleep(1500);
    const summary = await streamer.end();

    assert.equal(service.state.maxInFlight, 1, "the server saw more than one frame at a time");
    assert.equal(streamer.stats.maxInFlight, 1);
    assert.equal(streamer.state, "ended");
    assert.equal(summary.session_id, sessionId);
    // 25 fps offered for 1.5 s, about 5 answered per second: most ticks were dropped.
    assert.ok(streamer.stats.ticks >= 20, `ticks ${streamer.stats.ticks}`);
    assert.ok(streamer.stats.dropped >= streamer.stats.ticks / 2, JSON.stringify(streamer.stats));
    assert.ok(streamer.stats.sent >= 3 && streamer.stats.sent <= 10, JSON.stringify(streamer.stats));
    assert.equal(grabs, streamer.stats.sent); // a picture is only taken when it can be sent
    assert.equal(results.length, streamer.stats.analysed);
    assert.equal(summary.summary.frames_analyzed, streamer.stats.analysed);
    const frames = service.state.wsMessages.filter((m) => m.action === "frame");
    assert.ok(frames.every((m, i) => i === 0 || m.timestamp >= frames[i - 1].timestamp));
  });

  test("reconnects and resumes the same session when the connection drops", async () => {
    service.state.frameDelayMs = 20;
    const client = new InterviewClient(service.url, { WebSocket, sessionToken: "tok-1" });
    const states = [];
    const urlsBefore = service.state.wsUrls.length;
    const streamer = client.streamVideo(() => FRAME, {
      fps: 20,
      candidateId: "flaky-network",
      reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
      onState: (s) => states.push(s),
    });
    const sessionId = await streamer.start();
    await waitFor(() => streamer.stats.analysed >= 3);
    const before = service.state.wsMessages.length;
    service.dropConnections();
    await waitFor(() => streamer.stats.reconnects === 1 && streamer.state === "streaming");
    await waitFor(() => streamer.stats.analysed >= 8);
    const summary = await streamer.end();

    assert.deepEqual(states.slice(0, 4), ["connecting", "streaming", "reconnecting", "streaming"]);
    assert.equal(states.at(-1), "ended");
    const resumed = service.state.wsMessages.slice(before).find((m) => m.action === "resume");
    assert.deepEqual(resumed, { action: "resume", session_id: sessionId });
    assert.equal(summary.session_id, sessionId);
    const urls = service.state.wsUrls.slice(urlsBefore);
    assert.equal(urls.length, 2, urls.join()); // the first connection and the reconnection
    assert.ok(urls.every((url) => url === "/ws/stream?access_token=tok-1"), urls.join());
  });

  test("stops with a typed error when the session cannot be resumed", async () => {
    const client = new InterviewClient(service.url, { WebSocket });
    const errors = [];
    const streamer = client.streamVideo(() => FRAME, {
      fps: 10,
      candidateId: "expires",
      reconnect: { baseDelayMs: 10, maxDelayMs: 20 },
      onError: (err) => errors.push(err),
    });
    await streamer.start();
    service.state.wsHandler = (message, socket) => {
      if (message.action !== "resume") return false;
      socket.send(JSON.stringify({ type: "error", status: 410, code: "session_expired", detail: "idle" }));
      return true;
    };
    try {
      service.dropConnections();
      await waitFor(() => streamer.state === "failed");
    } finally {
      service.state.wsHandler = null;
    }
    assert.ok(errors.at(-1) instanceof SessionExpiredError);
  });

  test("resumes a session started elsewhere (a backend) instead of starting one", async () => {
    const client = new InterviewClient(service.url, { WebSocket });
    const { session_id: sid } = await client.startSession("from-backend");
    const streamer = client.streamVideo(() => FRAME, { fps: 10, sessionId: sid });
    assert.equal(await streamer.start(), sid);
    await waitFor(() => streamer.stats.analysed >= 1);
    streamer.stop();
    assert.equal(streamer.state, "stopped");
    const bad = client.streamVideo(() => FRAME, { fps: 10, sessionId: "missing" });
    await assert.rejects(bad.start(), SessionNotFoundError);
    assert.equal(bad.state, "failed");
    assert.throws(() => client.streamVideo(() => FRAME, { fps: 0, candidateId: "x" }), RangeError);
  });
});

describe("InterviewStream", () => {
  let service;
  before(async () => {
    service = await startFakeService({ frameDelayMs: 50 });
  });
  after(() => service.close());

  test("one message on the wire at a time, a bounded queue, errors keep the connection", async () => {
    const client = new InterviewClient(service.url, { WebSocket, apiKey: "key-1" });
    const ws = await client.connect({ maxQueue: 2 });
    assert.equal(service.state.wsUrls.at(-1), "/ws/stream?access_token=key-1");
    await assert.rejects(ws.sendFrame(FRAME, 0), BadMessageError);
    const started = await ws.start("queue", { timestamp: 0 });
    assert.equal(ws.sessionId, started.session_id);

    service.state.maxInFlight = 0;
    const sends = [0.1, 0.2, 0.3].map((t) => ws.sendFrame(FRAME, { timestamp: t }));
    assert.equal(ws.inFlight, 1);
    assert.equal(ws.queued, 2);
    await assert.rejects(ws.sendFrame(FRAME, 0.4), QueueFullError);
    const answers = await Promise.all(sends);
    assert.deepEqual(answers.map((a) => a.timestamp), [0.1, 0.2, 0.3]);
    assert.ok(answers.every((a) => a.type === undefined));
    assert.equal(service.state.maxInFlight, 1);

    const summary = await ws.end();
    assert.equal(summary.summary.frames_analyzed, 3);
    assert.equal(ws.closed, true);
    await assert.rejects(ws.sendFrame(FRAME), InterviewConnectionError);
  });

  test("a dropped connection rejects what is pending", async () => {
    const ws = await new InterviewClient(service.url, { WebSocket }).connect();
    await ws.start("drop");
    let closed = null;
    ws.onclose = (event) => (closed = event);
    const pending = ws.sendFrame(FRAME);
    service.dropConnections();
    await assert.rejects(pending, InterviewConnectionError);
    assert.ok(closed);
  });
});
