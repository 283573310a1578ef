import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import {
  EventNotFoundError,
  EvidenceNotFoundError,
  ForbiddenError,
  InterviewApiError,
  InterviewClient,
  InterviewConnectionError,
  InterviewTimeoutError,
  ModelUnavailableError,
  NotAnImageError,
  RateLimitedError,
  SessionEndedError,
  SessionNotFoundError,
  AnalysisFailedError,
  UnauthorizedError,
  ValidationError,
  retryDelayMs,
} from "../src/index.js";
import { JPEG, startFakeService } from "./fake-service.js";

describe("REST client", () => {
  let service;
  before(async () => {
    service = await startFakeService();
  });
  after(() => service.close());

  test("starts a session, analyses bytes and base64, ends it", async () => {
    const client = new InterviewClient(service.url + "/");
    const started = await client.startSession("cand-1", { metadata: { round: 1 }, timestamp: 0 });
    assert.match(started.session_id, /^s-/);
    assert.equal(started.session_token, `token-${started.session_id}`);
    const request = service.state.requests.at(-1);
    assert.deepEqual(request.body, { candidate_id: "cand-1", metadata: { round: 1 }, timestamp: 0 });

    const fromBytes = await client.analyzeFrame(started.session_id, new Uint8Array([1, 2, 3]), { timestamp: 0.5 });
    assert.equal(fromBytes.faces, 1);
    assert.deepEqual(service.state.requests.at(-1).body, { session_id: started.session_id, frame: "AQID", timestamp: 0.5 });

    await client.analyzeFrame(started.session_id, "data:image/png;base64,AAAA", 1.0); // a number: the timestamp
    assert.equal(service.state.requests.at(-1).body.timestamp, 1.0);
    await client.analyzeFrame(started.session_id, "AAAA", { includeLandmarks: true });
    assert.equal(service.state.requests.at(-1).body.include_landmarks, true);

    const ended = await client.endSession(started.session_id);
    assert.equal(ended.verdict, "CLEAN");
    assert.equal(ended.summary.frames_analyzed, 3);
  });

  test("each error code is its own class, and an InterviewApiError", async () => {
    const client = new InterviewClient(service.url);
    await assert.rejects(client.analyzeFrame("nope", "AAAA"), (err) => {
      assert.ok(err instanceof SessionNotFoundError && err instanceof InterviewApiError);
      assert.equal(err.status, 404);
      assert.equal(err.code, "session_not_found");
      assert.match(err.message, /404 session_not_found/);
      return true;
    });
    await assert.rejects(client.startSession(""), (err) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.errors[0].loc.at(-1), "candidate_id");
      return true;
    });
    const { session_id: sid } = await client.startSession("cand-2");
    await client.endSession(sid);
    await assert.rejects(client.endSession(sid), SessionEndedError);
  });

  test("sends the API key as X-API-Key, a session token as a bearer token", async () => {
    await new InterviewClient(service.url, { apiKey: "k-1" }).health();
    assert.equal(service.state.requests.at(-1).headers["x-api-key"], "k-1");
    assert.equal(service.state.requests.at(-1).headers.authorization, undefined);
    await new InterviewClient(service.url, { sessionToken: "t-1" }).health();
    assert.equal(service.state.requests.at(-1).headers.authorization, "Bearer t-1");
    await new InterviewClient(service.url).health();
    assert.equal(service.state.requests.at(-1).headers.authorization, undefined);
  });
});

describe("session records", () => {
  let service;
  before(async () => {
    service = await startFakeService();
  });
  after(() => service.close());

  test("the record, an event's evidence as bytes, a review, the report as HTML", async () => {
    const client = new InterviewClient(service.url, { apiKey: "k-1" });
    const { session_id: sid } = await client.startSession("cand-records");
    await client.analyzeFrame(sid, "AAAA", 0);
    await client.endSession(sid);

    const record = await client.getRecord(sid);
    assert.equal(record.session_id, sid);
    assert.equal(record.status, "ended");
    assert.equal(record.reviewed_verdict, null);
    const [event] = record.events;
    assert.equal(event.id, "ev0001");
    assert.equal(event.review, null);
    assert.equal(service.state.requests.at(-1).method, "GET");
    assert.equal(service.state.requests.at(-1).path, `/sessions/${sid}`);
    assert.equal(service.state.requests.at(-1).headers["x-api-key"], "k-1");

    const image = await client.getEvidence(sid, event.id);
    assert.ok(image instanceof Uint8Array);
    assert.deepEqual([...image], JPEG);
    assert.equal(service.state.requests.at(-1).path, `/sessions/${sid}/events/ev0001/evidence`);

    const reviewed = await client.reviewEvent(sid, event.id, "dismissed", { note: "a poster" });
    assert.deepEqual(service.state.requests.at(-1).body, { decision: "dismissed", note: "a poster" });
    assert.equal(service.state.requests.at(-1).method, "POST");
    assert.equal(reviewed.review.decision, "dismissed");
    assert.equal(reviewed.reviewed_verdict, "CLEAN");
    await client.reviewEvent(sid, event.id, "confirmed");
    assert.deepEqual(service.state.requests.at(-1).body, { decision: "confirmed" }); // no note: none sent
    assert.equal((await client.getRecord(sid)).events[0].review.decision, "confirmed");

    const html = await client.getReport(sid);
    assert.equal(typeof html, "string");
    assert.match(html, /^<!doctype html>/);
    assert.equal(service.state.requests.at(-1).path, `/sessions/${sid}/report`);
  });

  test("ids are one path segment each; refusals stay typed on byte and HTML calls", async () => {
    const client = new InterviewClient(service.url);
    await assert.rejects(client.getRecord("a/b?c"), SessionNotFoundError);
    assert.equal(service.state.requests.at(-1).path, "/sessions/a%2Fb%3Fc");
    const { session_id: sid } = await client.startSession("cand-refusals");
    await assert.rejects(client.getEvidence(sid, "ev0001"), (err) => {
      assert.ok(err instanceof EvidenceNotFoundError && err instanceof InterviewApiError);
      assert.equal(err.status, 404);
      assert.equal(err.code, "evidence_not_found");
      return true;
    });
    await assert.rejects(client.reviewEvent(sid, "ev9999", "confirmed"), EventNotFoundError);
    await assert.rejects(client.getReport("no-such-session"), SessionNotFoundError);
  });

  test("a refusal without the service's JSON on a byte call keeps its status", async () => {
    const service = await startFakeService({
      restHandler: () => ({ status: 403, body: "<html>not for you</html>" }),
    });
    try {
      await assert.rejects(new InterviewClient(service.url).getEvidence("s", "ev0001"), (err) => {
        assert.ok(err instanceof ForbiddenError);
        assert.equal(err.code, "http_403");
        assert.match(err.detail, /not for you/);
        return true;
      });
    } finally {
      await service.close();
    }
  });
});

describe("retries", () => {
  test("429 and 503 are retried, waiting at least Retry-After", async () => {
    const answers = [
      { status: 429, body: { detail: "slow down", code: "rate_limited" }, headers: { "retry-after": "1" } },
      { status: 503, body: { detail: "face model failed", code: "analysis_failed" } },
    ];
    const service = await startFakeService({ restHandler: () => answers.shift() || null });
    try {
      const client = new InterviewClient(service.url, { retry: { baseDelayMs: 10 } });
      const t0 = Date.now();
      const started = await client.startSession("cand");
      const waited = Date.now() - t0;
      assert.ok(started.session_id);
      assert.equal(service.state.requests.length, 3);
      assert.ok(waited >= 950, `waited only ${waited} ms despite Retry-After: 1`);
    } finally {
      await service.close();
    }
  });

  test("gives up after the retries, with the last error typed", async () => {
    const service = await startFakeService({
      restHandler: () => ({ status: 503, body: { detail: "down", code: "analysis_failed" } }),
    });
    try {
      const client = new InterviewClient(service.url, { retry: { retries: 2, baseDelayMs: 5 } });
      await assert.rejects(client.analyzeFrame("s", "AAAA"), AnalysisFailedError);
      assert.equal(service.state.requests.length, 3);
      const noRetry = new InterviewClient(service.url, { retry: false });
      await assert.rejects(noRetry.analyzeFrame("s", "AAAA"), AnalysisFailedError);
      assert.equal(service.state.requests.length, 4);
    } finally {
      await service.close();
    }
  });

  test("a model that is not loaded is not retried (model_unavailable)", async () => {
    const service = await startFakeService({
      restHandler: () => ({ status: 503, body: { detail: "no weights", code: "model_unavailable" }, headers: { "retry-after": "1" } }),
    });
    try {
      const client = new InterviewClient(service.url, { retry: { baseDelayMs: 5 } });
      await assert.rejects(client.analyzeFrame("s", "AAAA"), ModelUnavailableError);
      assert.equal(service.state.requests.length, 1);
    } finally {
      await service.close();
    }
  });

  test("a Retry-After longer than maxDelayMs is not waited for", async () => {
    const service = await startFakeService({
      restHandler: () => ({ status: 429, body: { detail: "later", code: "rate_limited" }, headers: { "retry-after": "120" } }),
    });
    try {
      const client = new InterviewClient(service.url);
      await assert.rejects(client.health(), (err) => err instanceof RateLimitedError && err.retryAfter === 120);
      assert.equal(service.state.requests.length, 1);
    } finally {
      await service.close();
    }
  });

  test("other refusals are not retried; answers that are not the service's JSON keep their status", async () => {
    const answers = [
      { status: 400, body: { detail: "bad", code: "not_an_image" } },
      { status: 401, body: "<html>gateway says no</html>" },
    ];
    const service = await startFakeService({ restHandler: () => answers.shift() || null });
    try {
      const client = new InterviewClient(service.url);
      await assert.rejects(client.analyzeFrame("s", "AAAA"), NotAnImageError);
      await assert.rejects(client.health(), (err) => {
        assert.ok(err instanceof UnauthorizedError);
        assert.equal(err.code, "http_401");
        assert.match(err.detail, /gateway says no/);
        return true;
      });
      assert.equal(service.state.requests.length, 2);
    } finally {
      await service.close();
    }
  });

  test("retryDelayMs: backoff doubles with jitter up to the cap", () => {
    const policy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(retryDelayMs(0, { retryAfter: null }, policy, () => 1), 100);
    assert.equal(retryDelayMs(2, { retryAfter: null }, policy, () => 0), 200);
    assert.equal(retryDelayMs(4, { retryAfter: null }, policy, () => 1), 1000);
    assert.equal(retryDelayMs(1, { retryAfter: 0.5 }, policy), 500);
    assert.equal(retryDelayMs(5, { retryAfter: null }, policy), null);
  });
});

describe("transport failures", () => {
  test("a silent server times out, a closed port is a connection error", async () => {
    const silent = createServer(() => {}); // never answers
    await new Promise((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${silent.address().port}`;
    try {
      await assert.rejects(new InterviewClient(url, { timeout: 200 }).health(), InterviewTimeoutError);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
    await assert.rejects(new InterviewClient(url, { timeout: 2000 }).health(), InterviewConnectionError);
  });
});
