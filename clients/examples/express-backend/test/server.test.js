// The backend against a stand-in service: the API key stays on the server, the browser gets the
// session token; the capture page and the client module are served.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { startFakeService } from "../../../javascript/test/fake-service.js";
import { createApp } from "../server.js";

let service;
let server;
let base;

before(async () => {
  service = await startFakeService();
  const app = createApp({ apiUrl: service.url, apiKey: "platform-key", publicApiUrl: "https://integrity.example" });
  server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  server.close();
  await service.close();
});

const post = (path, body) =>
  fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) });

test("starts a session with the API key and hands over only the session token", async () => {
  const response = await post("/api/interviews", { candidateId: "cand-7" });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.deepEqual(Object.keys(body).sort(), ["apiUrl", "sessionId", "sessionToken"]);
  assert.equal(body.sessionToken, `token-${body.sessionId}`);
  assert.equal(body.apiUrl, "https://integrity.example");
  const upstream = service.state.requests.at(-1);
  assert.equal(upstream.headers["x-api-key"], "platform-key");
  assert.equal(upstream.body.candidate_id, "cand-7");
  assert.ok(!JSON.stringify(body).includes("platform-key"));

  const ended = await post(`/api/interviews/${body.sessionId}/end`);
  assert.deepEqual(await ended.json(), { verdict: "CLEAN", totalViolations: 0, events: {} });
  assert.equal(service.state.requests.at(-1).headers["x-api-key"], "platform-key");
});

test("passes the service's refusals on", async () => {
  assert.equal((await post("/api/interviews", {})).status, 400);
  const missing = await post("/api/interviews/nope/end");
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "session_not_found", detail: "no session nope" });
});

test("serves the capture page and the client module", async () => {
  const page = await fetch(base + "/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /getUserMedia|capture\.js/);
  const lib = await fetch(base + "/lib/client/index.js");
  assert.equal(lib.status, 200);
  assert.match(lib.headers.get("content-type"), /javascript/);
  assert.match(await lib.text(), /InterviewClient/);
});
