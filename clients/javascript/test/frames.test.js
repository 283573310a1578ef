import assert from "node:assert/strict";
import { test } from "node:test";

import { InterviewClient, captureFrame, encodeFrame, wsUrl } from "../src/index.js";
import { startFakeService } from "./fake-service.js";

test("encodeFrame: strings pass through, bytes become base64", () => {
  assert.equal(encodeFrame("data:image/png;base64,AAAA"), "data:image/png;base64,AAAA");
  assert.equal(encodeFrame(new Uint8Array([255, 216, 255])), "/9j/");
  assert.equal(encodeFrame(new Uint8Array([0, 255, 216, 255]).subarray(1)), "/9j/");
  assert.equal(encodeFrame(new Uint8Array([255, 216, 255]).buffer), "/9j/");
  assert.throws(() => encodeFrame(42), TypeError);
});

test("wsUrl maps the scheme and adds the access token", () => {
  assert.equal(wsUrl("https://x.example/"), "wss://x.example/ws/stream");
  assert.equal(wsUrl("http://127.0.0.1:8000"), "ws://127.0.0.1:8000/ws/stream");
  assert.equal(wsUrl("localhost:8000", "a b"), "ws://localhost:8000/ws/stream?access_token=a%20b");
});

/** Just enough of a canvas and a <video> for captureFrame outside a browser. */
function fakeCanvas() {
  return {
    width: 0,
    height: 0,
    drawn: null,
    getContext() {
      return { drawImage: (...args) => (this.drawn = args) };
    },
    toDataURL(type, quality) {
      return `data:${type};base64,Q${quality}`;
    },
  };
}

test("captureFrame scales to maxWidth and returns base64 without the data-URL prefix", async () => {
  const video = { videoWidth: 1280, videoHeight: 720 };
  const canvas = fakeCanvas();
  const grabbed = await captureFrame(video, { maxWidth: 640, quality: 0.5, canvas });
  assert.deepEqual(grabbed, { frame: "Q0.5", width: 640, height: 360 });
  assert.deepEqual(canvas.drawn, [video, 0, 0, 640, 360]);
  await assert.rejects(captureFrame({ videoWidth: 0, videoHeight: 0 }, { canvas }), /no picture yet/);
});

test("analyzeFrameFromCanvas sends the captured JPEG with a page-clock timestamp", async () => {
  const service = await startFakeService();
  try {
    const client = new InterviewClient(service.url);
    const { session_id: sid } = await client.startSession("canvas");
    const before = Date.now() / 1000;
    await client.analyzeFrameFromCanvas(sid, { width: 64, height: 48 }, { canvas: fakeCanvas(), quality: 0.7 });
    const body = service.state.requests.at(-1).body;
    assert.equal(body.frame, "Q0.7");
    assert.ok(Math.abs(body.timestamp - before) < 5, `timestamp ${body.timestamp}`);
  } finally {
    await service.close();
  }
});
