// The page's signals without a browser: the audio features' pure functions, AudioMeter over a
// stand-in Web Audio graph, PageSignals over a stand-in page, and the bodies and messages that carry
// them (left as they were when none is given).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";

import {
  AudioMeter,
  InterviewClient,
  PageSignals,
  encodeBinaryFrame,
  SILENCE_DBFS,
  powerToDbfs,
  rmsDbfs,
  smoothSpeech,
  speechProbability,
  takeSignals,
} from "../src/index.js";
import { analyzeBody } from "../src/bodies.js";
import { JPEG, decodeBinaryFrame, startFakeService } from "./fake-service.js";

const SAMPLE_RATE = 48000;
const FFT_SIZE = 2048;
const BIN_HZ = SAMPLE_RATE / FFT_SIZE;

function sine(amplitude, hz, n = FFT_SIZE) {
  return Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE));
}

/** A spectrum in dB per bin: `db` in the bins between `fromHz` and `toHz`, nothing elsewhere. */
function spectrum(ranges) {
  const bins = new Float32Array(FFT_SIZE / 2).fill(-Infinity);
  for (const [fromHz, toHz, db] of ranges) {
    for (let i = Math.ceil(fromHz / BIN_HZ); i * BIN_HZ <= toHz && i < bins.length; i++) bins[i] = db;
  }
  return bins;
}

describe("audio features", () => {
  test("rmsDbfs: full-scale sine -3 dBFS, a tenth of it -23, silence the floor, nothing null", () => {
    assert.ok(Math.abs(rmsDbfs(sine(1, 1000)) - -3.01) < 0.05);
    assert.ok(Math.abs(rmsDbfs(sine(0.1, 1000)) - -23.01) < 0.05);
    assert.equal(rmsDbfs(new Float32Array(128)), SILENCE_DBFS);
    assert.equal(rmsDbfs(new Float32Array(0)), null);
    assert.equal(rmsDbfs(Float32Array.from([2, -2])), 0); // clipped input stays within [-120, 0]
    assert.equal(powerToDbfs(1e-20), SILENCE_DBFS);
  });

  test("speechProbability: energy in the speech band at a speaking level is speech", () => {
    const voice = spectrum([[300, 3400, -40]]);
    assert.equal(speechProbability(voice, SAMPLE_RATE, FFT_SIZE, -30), 1);
    // The same spectrum at a whisper's level: the gate is half open.
    assert.ok(Math.abs(speechProbability(voice, SAMPLE_RATE, FFT_SIZE, -60) - 0.5) < 1e-9);
    // A quiet room: below the gate nothing is speech, whatever the spectrum.
    assert.equal(speechProbability(voice, SAMPLE_RATE, FFT_SIZE, -75), 0);
  });

  test("speechProbability: hum, rumble and hiss outside the band are not speech", () => {
    assert.equal(speechProbability(spectrum([[20, 200, -20]]), SAMPLE_RATE, FFT_SIZE, -20), 0);
    assert.equal(speechProbability(spectrum([[5000, 20000, -30]]), SAMPLE_RATE, FFT_SIZE, -20), 0);
    // Half the energy in the band, half outside: at the bottom of the share's range.
    const half = spectrum([[400, 1400, -30], [6000, 7000, -30]]);
    assert.ok(speechProbability(half, SAMPLE_RATE, FFT_SIZE, -20) < 0.05);
    // The DC bin is a microphone's bias, not sound.
    const dc = spectrum([[300, 3400, -40]]);
    dc[0] = 0;
    assert.equal(speechProbability(dc, SAMPLE_RATE, FFT_SIZE, -30), 1);
  });

  test("speechProbability: an unknown level is unknown, an empty spectrum is no speech", () => {
    assert.equal(speechProbability(spectrum([[300, 3400, -40]]), SAMPLE_RATE, FFT_SIZE, null), null);
    assert.equal(speechProbability(spectrum([]), SAMPLE_RATE, FFT_SIZE, -30), 0);
    const custom = { band: [1000, 2000], gateDbfs: -40, fullDbfs: -20 };
    assert.equal(speechProbability(spectrum([[1000, 2000, -30]]), SAMPLE_RATE, FFT_SIZE, -30, custom), 0.5);
  });

  test("smoothSpeech rises quickly and falls slowly", () => {
    assert.equal(smoothSpeech(null, 0.8), 0.8);
    assert.equal(smoothSpeech(0.5, null), 0.5);
    const up = smoothSpeech(0, 1);
    const down = smoothSpeech(1, 0);
    assert.ok(up > 1 - down, `up ${up}, down ${down}`);
  });
});

/** A stand-in AudioContext whose analyser reads from `source.samples` and `source.spectrum`. */
function fakeAudio() {
  const world = { samples: sine(0.1, 1000), spectrum: spectrum([[300, 3400, -40]]), contexts: [] };
  class FakeAudioContext {
    constructor() {
      this.state = "running";
      this.sampleRate = SAMPLE_RATE;
      this.closed = false;
      world.contexts.push(this);
    }
    createAnalyser() {
      return {
        fftSize: 2048,
        smoothingTimeConstant: 0.8,
        get frequencyBinCount() {
          return this.fftSize / 2;
        },
        getFloatTimeDomainData: (out) => out.set(world.samples.subarray(0, out.length)),
        getFloatFrequencyData: (out) => out.set(world.spectrum.subarray(0, out.length)),
      };
    }
    createMediaStreamSource() {
      return { connect() {}, disconnect() {} };
    }
    async resume() {}
    async close() {
      this.closed = true;
      this.state = "closed";
    }
  }
  const track = { readyState: "live", enabled: true, muted: false, stopped: false, stop() {
    this.stopped = true;
    this.readyState = "ended";
  } };
  const stream = { getAudioTracks: () => [track], getTracks: () => [track] };
  return { world, FakeAudioContext, stream, track };
}

describe("AudioMeter", () => {
  test("take() gives the interval's level and speech likelihood, then starts a new interval", () => {
    const { world, FakeAudioContext, stream, track } = fakeAudio();
    const meter = new AudioMeter(stream, { AudioContext: FakeAudioContext, intervalMs: 60_000, stopTracks: true });
    try {
      assert.equal(meter.analyser.smoothingTimeConstant, 0);
      assert.ok(Math.abs(meter.level() - -23) < 0.1);
      meter._sample();
      meter._sample();
      const speaking = meter.take();
      assert.ok(Math.abs(speaking.rms_dbfs - -23) < 0.1, JSON.stringify(speaking));
      assert.equal(speaking.speech_prob, 1);

      world.samples = new Float32Array(FFT_SIZE); // silence
      world.spectrum = spectrum([]);
      const quiet = meter.take();
      assert.equal(quiet.rms_dbfs, SILENCE_DBFS);
      assert.ok(quiet.speech_prob > 0.5 && quiet.speech_prob < 1, "smoothed: the fall is gradual");
      for (let i = 0; i < 30; i++) meter._sample();
      meter.take();
      assert.ok(meter.take().speech_prob < 0.05); // and down to nothing
    } finally {
      meter.stop();
    }
    assert.equal(meter.stopped, true);
    assert.equal(world.contexts[0].closed, true);
    assert.equal(track.stopped, true); // the meter's own microphone is released
  });

  test("a level that cannot be measured is null, never silence", () => {
    const { world, FakeAudioContext, stream, track } = fakeAudio();
    const meter = new AudioMeter(stream, { AudioContext: FakeAudioContext, intervalMs: 60_000 });
    try {
      world.contexts[0].state = "suspended"; // not started by the page yet
      assert.equal(meter.running, false);
      assert.equal(meter.level(), null);
      assert.equal(meter.take(), null); // the frame goes without audio: unknown
      world.contexts[0].state = "running";
      track.muted = true; // the device gives no data
      assert.equal(meter.take(), null);
      track.muted = false;
      assert.ok(Math.abs(meter.take().rms_dbfs - -23) < 0.1);
    } finally {
      meter.stop();
    }
    assert.equal(track.stopped, false); // a stream the caller gave stays the caller's
    assert.equal(meter.level(), null);
  });

  test("without Web Audio (Node) it says so", () => {
    assert.throws(() => new AudioMeter({}), /Web Audio/);
  });
});

/** Just enough of a page for PageSignals: events, visibility, focus, fullscreen, a screen. */
function fakePage({ screen = {}, fullscreenApi = true } = {}) {
  const window = new EventTarget();
  const document = new EventTarget();
  window.screen = screen;
  document.visibilityState = "visible";
  document.focus = true;
  document.hasFocus = () => document.focus;
  if (fullscreenApi) document.fullscreenElement = null;
  let now = 1000;
  const clock = {
    now: () => now,
    advance: (ms) => (now += ms),
  };
  const page = {
    window,
    document,
    clock,
    hide() {
      document.visibilityState = "hidden";
      document.dispatchEvent(new Event("visibilitychange"));
    },
    show() {
      document.visibilityState = "visible";
      document.dispatchEvent(new Event("visibilitychange"));
    },
    blur() {
      document.focus = false;
      window.dispatchEvent(new Event("blur"));
    },
    focus() {
      document.focus = true;
      window.dispatchEvent(new Event("focus"));
    },
  };
  return page;
}

describe("PageSignals", () => {
  test("a quiet interval: visible, focused, no counts; screens null without isExtended", () => {
    const page = fakePage();
    const signals = new PageSignals({ window: page.window, document: page.document, now: page.clock.now });
    page.clock.advance(500);
    assert.deepEqual(signals.take(), {
      visible: true,
      focused: true,
      fullscreen: false,
      screens: null,
      hidden_ms: 0,
      blur_count: 0,
      paste_count: 0,
    });
    signals.stop();
  });

  test("hidden and unfocused during the interval: false, with the time hidden and the counts", () => {
    const page = fakePage({ screen: { isExtended: true } });
    const signals = new PageSignals({ window: page.window, document: page.document, now: page.clock.now });
    page.clock.advance(100);
    page.blur();
    page.hide();
    page.clock.advance(700);
    page.show();
    page.focus();
    page.document.dispatchEvent(new Event("paste"));
    page.document.dispatchEvent(new Event("paste"));
    page.clock.advance(200);
    assert.deepEqual(signals.take(), {
      visible: false,
      focused: false,
      fullscreen: false,
      screens: 2,
      hidden_ms: 700,
      blur_count: 1,
      paste_count: 2,
    });
    // Back and focused for the whole next interval: reset.
    page.clock.advance(300);
    assert.deepEqual(signals.take(), {
      visible: true,
      focused: true,
      fullscreen: false,
      screens: 2,
      hidden_ms: 0,
      blur_count: 0,
      paste_count: 0,
    });
    signals.stop();
  });

  test("a page hidden across takes splits the time hidden between the intervals", () => {
    const page = fakePage({ screen: { isExtended: false } });
    const signals = new PageSignals({ window: page.window, document: page.document, now: page.clock.now });
    page.hide();
    page.clock.advance(400);
    const first = signals.take();
    assert.equal(first.visible, false);
    assert.equal(first.hidden_ms, 400);
    assert.equal(first.screens, 1);
    page.clock.advance(250);
    const second = signals.take(); // hidden the whole interval, no event in it
    assert.equal(second.visible, false);
    assert.equal(second.hidden_ms, 250);
    page.clock.advance(50);
    page.show();
    page.clock.advance(100);
    const third = signals.take(); // hidden at the interval's start
    assert.equal(third.visible, false);
    assert.equal(third.hidden_ms, 50);
    page.clock.advance(100);
    const fourth = signals.take();
    assert.equal(fourth.visible, true);
    assert.equal(fourth.hidden_ms, 0);
    signals.stop();
  });

  test("an element losing focus is not the window losing it; fullscreen is read now", () => {
    const page = fakePage();
    const signals = new PageSignals({ window: page.window, document: page.document, now: page.clock.now });
    // Dispatched on the document: the window's capture listener sees it with another target.
    page.document.dispatchEvent(new Event("blur"));
    page.document.fullscreenElement = {};
    page.document.dispatchEvent(new Event("fullscreenchange"));
    assert.equal(signals.fullscreen, true);
    const taken = signals.take();
    assert.equal(taken.blur_count, 0);
    assert.equal(taken.focused, true);
    assert.equal(taken.fullscreen, true);
    signals.stop();
  });

  test("what the page cannot measure is null; stop() removes the listeners", () => {
    const page = fakePage({ fullscreenApi: false });
    delete page.document.visibilityState;
    delete page.document.hasFocus;
    const signals = new PageSignals({ window: page.window, document: page.document, now: page.clock.now });
    const taken = signals.take();
    assert.equal(taken.visible, null);
    assert.equal(taken.focused, null);
    assert.equal(taken.fullscreen, null);
    assert.equal(taken.hidden_ms, null);
    assert.equal(taken.screens, null);
    signals.stop();
    page.window.dispatchEvent(new Event("blur"));
    page.document.dispatchEvent(new Event("paste"));
    const after = signals.take();
    assert.equal(after.blur_count, 0);
    assert.equal(after.paste_count, 0);
    assert.throws(() => new PageSignals({ window: null, document: null }), /needs a page/);
  });
});

describe("frames carrying the page's signals", () => {
  const AUDIO = { rms_dbfs: -32.5, speech_prob: 0.8 };
  const CLIENT = { visible: true, focused: false, fullscreen: false, screens: null, hidden_ms: 0, blur_count: 1, paste_count: 0 };

  test("analyzeBody: without them the body is as it always was; with them, added as given", () => {
    const plain = JSON.stringify(analyzeBody("s", "AAAA", { timestamp: 1.5, includeLandmarks: true }));
    assert.equal(plain, '{"session_id":"s","frame":"AAAA","timestamp":1.5,"include_landmarks":true}');
    assert.equal(JSON.stringify(analyzeBody("s", "AAAA", { audio: null, client: undefined })), '{"session_id":"s","frame":"AAAA"}');
    assert.deepEqual(analyzeBody("s", "AAAA", { timestamp: 2, audio: AUDIO, client: CLIENT }), {
      session_id: "s",
      frame: "AAAA",
      timestamp: 2,
      audio: AUDIO,
      client: CLIENT,
    });
  });

  test("binary frames carry them in the header; without them the image goes as it is", () => {
    const jpeg = new Uint8Array(JPEG);
    assert.equal(encodeBinaryFrame(jpeg, { audio: null, client: null }), jpeg);
    const read = decodeBinaryFrame(encodeBinaryFrame(jpeg, { timestamp: 1, audio: AUDIO, client: CLIENT }));
    assert.deepEqual(read.header, { timestamp: 1, audio: AUDIO, client: CLIENT });
    assert.deepEqual(read.image, JPEG);
  });

  test("takeSignals: an object's take(), a function's result, or nothing", () => {
    assert.equal(takeSignals(null), null);
    assert.equal(takeSignals(undefined), null);
    assert.deepEqual(takeSignals({ take: () => AUDIO }), AUDIO);
    assert.deepEqual(takeSignals(() => CLIENT), CLIENT);
    assert.equal(takeSignals(() => undefined), null);
  });

  test("REST and WebSocket frames carry audio and client when given, and only then", async () => {
    const service = await startFakeService();
    try {
      const client = new InterviewClient(service.url, { WebSocket });
      const { session_id: sid } = await client.startSession("signals");
      await client.analyzeFrame(sid, "AAAA", { timestamp: 1, audio: AUDIO, client: CLIENT });
      await client.analyzeFrame(sid, "AAAA", { timestamp: 2 });
      const frames = service.state.requests.filter((r) => r.path === "/analyze-frame").map((r) => r.body);
      assert.deepEqual(frames[0], { session_id: sid, frame: "AAAA", timestamp: 1, audio: AUDIO, client: CLIENT });
      assert.deepEqual(frames[1], { session_id: sid, frame: "AAAA", timestamp: 2 });

      const ws = await client.connect();
      await ws.start("signals-ws");
      await ws.sendFrame("AAAA", { timestamp: 1, audio: AUDIO, client: CLIENT });
      await ws.sendFrame("AAAA", { timestamp: 2 });
      await ws.sendFrame(new Uint8Array(JPEG), { timestamp: 3, binary: true, audio: AUDIO });
      await ws.end();
      const sent = service.state.wsMessages.filter((m) => m.action === "frame");
      assert.deepEqual(sent[0], { action: "frame", frame: "AAAA", timestamp: 1, audio: AUDIO, client: CLIENT });
      assert.deepEqual(sent[1], { action: "frame", frame: "AAAA", timestamp: 2 });
      assert.deepEqual(sent[2].header, { timestamp: 3, audio: AUDIO });
    } finally {
      await service.close();
    }
  });

  test("the streamer takes from its audioMeter and pageSignals once per frame sent", async () => {
    const service = await startFakeService();
    try {
      const client = new InterviewClient(service.url, { WebSocket });
      let audioTakes = 0;
      let pageTakes = 0;
      const errors = [];
      const streamer = client.streamVideo(() => "AAAA", {
        fps: 20,
        candidateId: "signals-streamer",
        audioMeter: {
          take: () => {
            audioTakes += 1;
            return { rms_dbfs: -40 - audioTakes, speech_prob: 0.1 };
          },
        },
        pageSignals: () => {
          pageTakes += 1;
          if (pageTakes === 2) throw new Error("page signals failed");
          return { ...CLIENT, blur_count: pageTakes };
        },
        onError: (err) => errors.push(err),
      });
      await streamer.start();
      await new Promise((resolve) => setTimeout(resolve, 400));
      await streamer.end();
      const frames = service.state.wsMessages.filter((m) => m.action === "frame");
      assert.ok(frames.length >= 3, `frames ${frames.length}`);
      assert.equal(audioTakes, streamer.stats.sent); // dropped ticks take nothing
      assert.equal(pageTakes, streamer.stats.sent);
      frames.forEach((frame, i) => assert.equal(frame.audio.rms_dbfs, -41 - i));
      assert.equal(frames[0].client.blur_count, 1);
      assert.equal("client" in frames[1], false); // a take that failed: sent without, reported
      assert.equal(frames[2].client.blur_count, 3);
      assert.deepEqual(errors.map((e) => e.message), ["page signals failed"]);
    } finally {
      await service.close();
    }
  });

  test("a source function's own audio and client win; without options nothing is added", async () => {
    const service = await startFakeService();
    try {
      const client = new InterviewClient(service.url, { WebSocket });
      const own = client.streamVideo(() => ({ frame: "AAAA", audio: AUDIO }), {
        fps: 20,
        candidateId: "own",
        audioMeter: { take: () => ({ rms_dbfs: -99, speech_prob: 0 }) },
      });
      await own.start();
      await new Promise((resolve) => setTimeout(resolve, 150));
      await own.end();
      const plain = client.streamVideo(() => "AAAA", { fps: 20, candidateId: "plain" });
      await plain.start();
      await new Promise((resolve) => setTimeout(resolve, 150));
      await plain.end();
      const frames = service.state.wsMessages.filter((m) => m.action === "frame");
      const ownFrames = frames.filter((m) => "audio" in m);
      assert.ok(ownFrames.length >= 1);
      for (const frame of ownFrames) assert.deepEqual(frame.audio, AUDIO);
      const plainFrames = frames.slice(ownFrames.length);
      assert.ok(plainFrames.length >= 1);
      for (const frame of plainFrames) assert.deepEqual(Object.keys(frame).sort(), ["action", "frame", "timestamp"]);
    } finally {
      await service.close();
    }
  });
});
