// Binary WebSocket frames: the encoder's bytes, and the stream and the streamer sending them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";

import { InterviewClient, captureFrame, encodeBinaryFrame } from "../src/index.js";
import { JPEG, decodeBinaryFrame, startFakeService } from "./fake-service.js";

const PNG_START = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** "IFR1", 2-byte big-endian length, the JSON header, then the image: read back by hand. */
function readBack(bytes) {
  assert.equal(String.fromCharCode(...bytes.subarray(0, 4)), "IFR1");
  const size = bytes[4] * 256 + bytes[5];
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(6, 6 + size))), image: Array.from(bytes.subarray(6 + size)) };
}

test("encodeBinaryFrame: the image as it is when there is nothing to add", () => {
  const jpeg = new Uint8Array(JPEG);
  assert.equal(encodeBinaryFrame(jpeg), jpeg); // no copy
  assert.equal(encodeBinaryFrame(jpeg, { includeLandmarks: false }), jpeg);
  assert.deepEqual(Array.from(encodeBinaryFrame(jpeg.buffer)), JPEG);
  const view = new Uint8Array([0, ...PNG_START, 1]).subarray(1, 9); // a view into a larger buffer
  assert.deepEqual(Array.from(encodeBinaryFrame(view)), PNG_START);
});

test("encodeBinaryFrame: IFR1, the header's length, the JSON header, the image", () => {
  const message = encodeBinaryFrame(new Uint8Array(JPEG), { timestamp: 1.5, includeLandmarks: true });
  const json = '{"timestamp":1.5,"include_landmarks":true}';
  assert.deepEqual(Array.from(message.subarray(0, 6)), [0x49, 0x46, 0x52, 0x31, 0, json.length]);
  assert.deepEqual(readBack(message), { header: { timestamp: 1.5, include_landmarks: true }, image: JPEG });
  assert.equal(message.length, 6 + json.length + JPEG.length);
  assert.deepEqual(readBack(encodeBinaryFrame(new Uint8Array(JPEG), { timestamp: 0 })).header, { timestamp: 0 });
  // A DataView over the image's bytes works as well as a Uint8Array.
  const data = new DataView(new Uint8Array(JPEG).buffer);
  assert.deepEqual(readBack(encodeBinaryFrame(data, { timestamp: 2 })).image, JPEG);
});

test("encodeBinaryFrame refuses what is not bytes, and timestamps that are not numbers", () => {
  assert.throws(() => encodeBinaryFrame("/9j/4AAQ"), TypeError);
  assert.throws(() => encodeBinaryFrame(42), TypeError);
  assert.throws(() => encodeBinaryFrame(new Uint8Array(JPEG), { timestamp: NaN }), RangeError);
  assert.throws(() => encodeBinaryFrame(new Uint8Array(JPEG), { timestamp: Infinity }), RangeError);
});

test("captureFrame with binary gives the JPEG's bytes (canvas.toBlob)", async () => {
  const canvas = {
    width: 0,
    height: 0,
    getContext: () => ({ drawImage() {} }),
    toBlob(callback, type, quality) {
      assert.equal(type, "image/jpeg");
      assert.equal(quality, 0.6);
      callback(new Blob([new Uint8Array(JPEG)], { type }));
    },
  };
  const grabbed = await captureFrame({ videoWidth: 320, videoHeight: 240 }, { canvas, quality: 0.6, binary: true });
  assert.ok(grabbed.frame instanceof Uint8Array);
  assert.deepEqual({ ...grabbed, frame: Array.from(grabbed.frame) }, { frame: JPEG, width: 320, height: 240 });
});

describe("binary frames over the WebSocket", () => {
  let service;
  before(async () => {
    service = await startFakeService();
  });
  after(() => service.close());

  test("sendFrame with binary sends bytes, a Blob or an ArrayBuffer; the default stays JSON", async () => {
    const ws = await new InterviewClient(service.url, { WebSocket }).connect();
    await ws.start("binary");
    const plain = await ws.sendFrame(new Uint8Array(JPEG), { binary: true });
    assert.equal(plain.faces, 1);
    assert.deepEqual(service.state.wsMessages.at(-1), { action: "frame", binary: true, image: JPEG });

    const timed = await ws.sendFrame(new Blob([new Uint8Array(JPEG)]), { timestamp: 2.5, includeLandmarks: true, binary: true });
    assert.equal(timed.timestamp, 2.5);
    const last = service.state.wsMessages.at(-1);
    assert.deepEqual(last.header, { timestamp: 2.5, include_landmarks: true });
    assert.deepEqual(last.image, JPEG);

    await ws.sendFrame(new Uint8Array(JPEG).buffer, { timestamp: 3, binary: true });
    assert.equal(service.state.wsMessages.at(-1).timestamp, 3);

    await assert.rejects(ws.sendFrame("/9j/4AAQ", { binary: true }), TypeError);
    assert.equal(ws.closed, false); // nothing was sent; the connection goes on

    await ws.sendFrame(new Uint8Array(JPEG), 4); // no `binary`: JSON with base64, as before
    assert.deepEqual(service.state.wsMessages.at(-1), { action: "frame", frame: Buffer.from(JPEG).toString("base64"), timestamp: 4 });
    await ws.sendFrame(new Blob([new Uint8Array(JPEG)]), 5); // a Blob works as JSON too
    assert.equal(service.state.wsMessages.at(-1).frame, Buffer.from(JPEG).toString("base64"));
    const summary = await ws.end();
    assert.equal(summary.summary.frames_analyzed, 5);
  });

  test("the streamer sends binary frames with their timestamps", async () => {
    const client = new InterviewClient(service.url, { WebSocket });
    let t = 10;
    const sent = [];
    const streamer = client.streamVideo(() => new Uint8Array(JPEG), {
      fps: 20,
      candidateId: "binary-streamer",
      binary: true,
      clock: () => (t += 0.5),
      onAnalysis: (result) => sent.push(result.timestamp),
    });
    const before = service.state.wsMessages.length;
    await streamer.start();
    while (sent.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    await streamer.end();
    const frames = service.state.wsMessages.slice(before).filter((m) => m.action === "frame");
    assert.ok(frames.length >= 3 && frames.every((m) => m.binary && typeof m.timestamp === "number"));
    assert.deepEqual(frames[0].image, JPEG);
    assert.deepEqual(sent.slice(0, 3), frames.slice(0, 3).map((m) => m.timestamp));
  });
});

test("the fake service reads binary frames as the service does", () => {
  assert.equal(decodeBinaryFrame(Buffer.from("hello")).action, "invalid");
  assert.deepEqual(decodeBinaryFrame(Buffer.from([...PNG_START])).image, PNG_START);
});
