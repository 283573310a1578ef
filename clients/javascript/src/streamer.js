// FrameStreamer: a <video>, a MediaStream or any frame source, sent at a fixed rate over one
// WebSocket with at most one frame in flight; frames due while one is being analysed are dropped.
// When the connection drops it reconnects with backoff and resumes the session.

import { InterviewApiError, InterviewError } from "./errors.js";
import { captureFrame, encodeFrame, sourceSize } from "./frames.js";
import { takeSignals } from "./signals.js";
import { defaultClock, sleep } from "./util.js";

/** Errors after which the session cannot go on: stop instead of retrying. */
const FATAL_CODES = new Set(["session_not_found", "session_ended", "session_expired", "unauthorized", "forbidden"]);

export const DEFAULT_RECONNECT = Object.freeze({ maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 8000 });

function isMediaStream(source) {
  return typeof MediaStream !== "undefined" && source instanceof MediaStream;
}

/**
 * Created by `client.streamVideo(source, options)`.
 *
 *   const streamer = client.streamVideo(videoElement, {
 *     fps: 2, candidateId: "candidate-42",            // or sessionId: "..." to resume one
 *     onAnalysis: (result) => draw(result), onError: (err) => console.warn(err),
 *   });
 *   await streamer.start();                           // resolves to the session id
 *   ...
 *   const summary = await streamer.end();             // the verdict
 *
 * source: an HTMLVideoElement (or canvas/img), a MediaStream (played in a hidden <video>), or a
 * function returning (a promise of) a frame: base64, bytes, or {frame, width, height}.
 * `binary: true` sends each JPEG as a binary message of its bytes (no base64); frames a source
 * function gives as base64 strings still go as JSON.
 *
 * The page's measures go with each frame sent, over the interval since the previous one:
 * `audioMeter` (an AudioMeter, or a function returning {rms_dbfs, speech_prob}) and `pageSignals`
 * (a PageSignals, or a function returning the `client` object) are taken from as each frame is
 * sent (a dropped tick takes nothing, so no interval is lost); a source function may instead
 * return {frame, audio, client}. The streamer never stops them: they belong to the caller.
 *
 * States: idle → connecting → streaming ⇄ reconnecting → ending → ended; stopped (stop()) and
 * failed (a fatal error: the session ended or expired elsewhere, the token was refused, or the
 * reconnection attempts ran out).
 */
export class FrameStreamer {
  /**
   * @param {import("./client.js").InterviewClient} client
   * @param {*} source
   * @param {object} options see index.d.ts (StreamVideoOptions)
   */
  constructor(client, source, options = {}) {
    if (!(options.fps > 0)) throw new RangeError("fps must be a positive number");
    if (!options.candidateId && !options.sessionId) {
      throw new TypeError("give candidateId (to start a session) or sessionId (to resume one)");
    }
    this.client = client;
    this.source = source;
    this.options = options;
    this.fps = options.fps;
    this.reconnectPolicy = { ...DEFAULT_RECONNECT, ...(options.reconnect || {}) };
    this.clock = options.clock || defaultClock;
    this.state = "idle";
    this.sessionId = options.sessionId || null;
    this.lastResult = null;
    this.summary = null;
    this.stats = { ticks: 0, sent: 0, analysed: 0, dropped: 0, errors: 0, reconnects: 0, inFlight: 0, maxInFlight: 0 };
    this._stream = null;
    this._timer = null;
    this._inflight = null; // the promise of the frame in flight
    this._pausedUntil = 0;
    this._video = null;
    this._ownVideo = false;
    this._canvas = null;
  }

  /** Connect, start (or resume) the session and begin sending frames; resolves to the session id. */
  async start() {
    if (this.state !== "idle") throw new InterviewError(`cannot start a streamer that is ${this.state}`);
    this._setState("connecting");
    try {
      await this._prepareSource();
      this._stream = await this._open();
      if (this.sessionId) {
        await this._stream.resume(this.sessionId);
      } else {
        const started = await this._stream.start(this.options.candidateId, {
          metadata: this.options.metadata,
          timestamp: this.clock(),
        });
        this.sessionId = started.session_id;
        if (this.options.onSession) this.options.onSession(started);
      }
    } catch (err) {
      this._teardown();
      this._setState("failed");
      throw err;
    }
    this._setState("streaming");
    this._timer = setInterval(() => this._tick(), 1000 / this.fps);
    return this.sessionId;
  }

  /** Stop sending, let the frame in flight finish, end the session; resolves to the summary. */
  async end() {
    if (this.state === "ended") return this.summary;
    if (!this.sessionId) throw new InterviewError("no session to end");
    this._stopTimer();
    this._setState("ending");
    if (this._inflight) await this._inflight.catch(() => {});
    if (!this._stream || this._stream.closed) {
      this._stream = await this._open();
      await this._stream.resume(this.sessionId);
    }
    const stream = this._stream;
    this._stream = null; // its close (the server closes after `end`) is not a drop
    try {
      this.summary = await stream.end();
    } catch (err) {
      this._teardown();
      this._setState("failed");
      throw err;
    }
    this._teardown();
    this._setState("ended");
    if (this.options.onEnded) this.options.onEnded(this.summary);
    return this.summary;
  }

  /** Stop sending and close the connection; the session stays open (resume it, or it expires). */
  stop() {
    if (this.state === "ended" || this.state === "stopped") return;
    this._teardown();
    this._setState("stopped");
  }

  // -- internals ------------------------------------------------------------------------------

  async _open() {
    const stream = await this.client.connect({ maxQueue: 1 });
    stream.onclose = () => {
      if (this._stream === stream) this._onDrop();
    };
    return stream;
  }

  async _prepareSource() {
    const source = this.source;
    if (typeof source === "function") return;
    if (isMediaStream(source)) {
      const video = document.createElement("video");
      video.muted = true;
      video.playsInline = true;
      video.srcObject = source;
      this._video = video;
      this._ownVideo = true;
      await video.play();
    } else {
      this._video = source;
    }
    if (typeof document !== "undefined" && this._video && "videoWidth" in this._video) {
      this._canvas = document.createElement("canvas");
    }
  }

  async _grab() {
    if (typeof this.source === "function") {
      const grabbed = await this.source();
      if (grabbed && typeof grabbed === "object" && "frame" in grabbed) return grabbed;
      return { frame: this.options.binary && typeof grabbed !== "string" ? grabbed : encodeFrame(grabbed) };
    }
    const video = this._video;
    if ("readyState" in video && "videoWidth" in video && video.readyState < 2) return null; // no picture yet
    if (!sourceSize(video).width) return null;
    return captureFrame(video, {
      quality: this.options.quality ?? 0.8,
      maxWidth: this.options.maxWidth ?? 640,
      canvas: this._canvas || undefined,
      binary: !!this.options.binary,
    });
  }

  _tick() {
    if (this.state !== "streaming") return;
    this.stats.ticks += 1;
    if (this._inflight || Date.now() < this._pausedUntil) {
      this.stats.dropped += 1; // never queue: the next tick takes a fresh picture
      if (this.options.onDrop) this.options.onDrop(this.stats.dropped);
      return;
    }
    this.stats.inFlight += 1;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
    this._inflight = this._sendOne()
      .catch((err) => this._report(err))
      .finally(() => {
        this._inflight = null;
        this.stats.inFlight -= 1;
      });
  }

  async _sendOne() {
    const stream = this._stream;
    let grabbed;
    try {
      grabbed = await this._grab();
    } catch (err) {
      this._report(err);
      return;
    }
    if (!grabbed || !stream || stream.closed || this._stream !== stream) return;
    const timestamp = this.clock();
    const signals = this._signals(grabbed);
    this.stats.sent += 1;
    try {
      const binary = !!this.options.binary && typeof grabbed.frame !== "string";
      const result = await stream.sendFrame(grabbed.frame, { timestamp, binary, ...signals });
      this.stats.analysed += 1;
      this.lastResult = result;
      if (this.options.onAnalysis) this.options.onAnalysis(result);
    } catch (err) {
      if (err instanceof InterviewApiError) {
        if (FATAL_CODES.has(err.code)) {
          this._fail(err);
          return;
        }
        if (err.code === "rate_limited" && err.retryAfter) this._pausedUntil = Date.now() + err.retryAfter * 1000;
        this._report(err);
      } else if (!(err instanceof InterviewError)) {
        this._report(err); // a frame that cannot be sent (e.g. not bytes with `binary`)
      }
      // A connection error: the close handler reconnects; the frame is lost, not retried.
    }
  }

  /** The frame's `audio` and `client`: the source's own, else taken from the options' sources. */
  _signals(grabbed) {
    const signals = {};
    for (const [field, option] of [["audio", "audioMeter"], ["client", "pageSignals"]]) {
      let value = grabbed[field];
      if (value == null) {
        try {
          value = takeSignals(this.options[option]);
        } catch (err) {
          this._report(err); // the frame goes without it: unknown, not "fine"
          value = null;
        }
      }
      if (value != null) signals[field] = value;
    }
    return signals;
  }

  _onDrop() {
    if (this.state !== "streaming") return;
    this._stream = null;
    this._setState("reconnecting");
    this._reconnect();
  }

  async _reconnect() {
    const policy = this.reconnectPolicy;
    for (let attempt = 0; attempt < policy.maxAttempts; attempt++) {
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
      if (this.state !== "reconnecting") return; // stopped or ended meanwhile
      let stream;
      try {
        stream = await this._open();
        await stream.resume(this.sessionId);
      } catch (err) {
        if (stream) {
          stream.onclose = null;
          stream.close();
        }
        if (err instanceof InterviewApiError && FATAL_CODES.has(err.code)) {
          this._fail(err);
          return;
        }
        this._report(err, false);
        continue;
      }
      if (this.state !== "reconnecting") {
        stream.onclose = null;
        stream.close();
        return;
      }
      this._stream = stream;
      this.stats.reconnects += 1;
      this._setState("streaming");
      return;
    }
    this._fail(new InterviewError(`could not reconnect after ${policy.maxAttempts} attempts`));
  }

  _report(err, count = true) {
    if (count) this.stats.errors += 1;
    if (this.options.onError) this.options.onError(err);
  }

  _fail(err) {
    this._teardown();
    this._setState("failed");
    this._report(err);
  }

  _stopTimer() {
    if (this._timer) clearInterval(this._timer);
    this._timer = null;
  }

  _teardown() {
    this._stopTimer();
    const stream = this._stream;
    this._stream = null;
    if (stream) stream.close();
    if (this._ownVideo && this._video) {
      this._video.srcObject = null;
      this._ownVideo = false;
    }
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    if (this.options.onState) this.options.onState(state);
  }
}
