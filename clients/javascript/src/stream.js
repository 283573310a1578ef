// One WebSocket connection to /ws/stream: start / resume / frame / end, one answer per message.

import {
  BadReplyError,
  InterviewConnectionError,
  InterviewTimeoutError,
  QueueFullError,
  apiError,
} from "./errors.js";
import { startBody } from "./bodies.js";
import { captureFrame, encodeBinaryFrame, encodeFrame, blobBytes } from "./frames.js";
import { defaultClock, wsUrl } from "./util.js";

const OPEN = 1;

/**
 * One WebSocket connection to /ws/stream, one session at a time. Each call sends one message and
 * resolves with its answer (the REST body; the `type` field removed). Only one message is on the
 * wire at a time (the server answers in order); calls made meanwhile wait in a queue of at most
 * `maxQueue` messages, beyond which they reject with QueueFullError. For live video use
 * FrameStreamer (client.streamVideo), which drops frames instead of queueing them.
 *
 *   const ws = await client.connect();
 *   await ws.start("candidate-42");
 *   const result = await ws.sendFrame(base64Jpeg, { timestamp: 0.5 });
 *   await ws.sendFrame(jpegBlob, { timestamp: 1.0, binary: true });   // the bytes, no base64
 *   const summary = await ws.end();   // the server then closes the connection
 */
export class InterviewStream {
  /**
   * @param {WebSocket} socket an open socket
   * @param {{timeout?: number, maxQueue?: number}} [options]
   */
  constructor(socket, options = {}) {
    this.socket = socket;
    this.timeout = options.timeout ?? 30000;
    this.maxQueue = options.maxQueue ?? 8;
    this.sessionId = null;
    this.closed = false;
    /** Called once when the connection closes, for whatever reason: (event) => void. */
    this.onclose = null;
    this._waiting = []; // messages not sent yet: {message, expected, resolve, reject}
    this._pending = null; // the message on the wire: {resolve, reject, timer, expected}
    socket.onmessage = (event) => this._onMessage(event);
    socket.onclose = (event) => this._onClose(event);
    socket.onerror = () => {}; // a close event follows and rejects what is pending
  }

  /**
   * Open a connection; resolves to an InterviewStream.
   * @param {string} baseUrl the service root (http(s):// or ws(s)://)
   * @param {{timeout?: number, maxQueue?: number, accessToken?: string|null, WebSocket?: typeof WebSocket}} [options]
   */
  static connect(baseUrl, options = {}) {
    const WebSocketImpl = options.WebSocket || globalThis.WebSocket;
    if (typeof WebSocketImpl !== "function") {
      return Promise.reject(
        new Error('no WebSocket available: pass options.WebSocket (e.g. the "ws" package) on Node < 22')
      );
    }
    const timeout = options.timeout ?? 30000;
    const url = wsUrl(baseUrl, options.accessToken);
    const shownUrl = wsUrl(baseUrl); // never put the token in an error message
    return new Promise((resolve, reject) => {
      let socket;
      try {
        socket = new WebSocketImpl(url);
      } catch (err) {
        reject(new InterviewConnectionError(`WebSocket connection to ${shownUrl} failed: ${err.message}`, { cause: err }));
        return;
      }
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        try {
          socket.close();
        } catch (_) {
          /* not open */
        }
        reject(new InterviewTimeoutError(`WebSocket did not open within ${timeout} ms`));
      }, timeout);
      socket.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(new InterviewStream(socket, options));
      };
      socket.onerror = () => {};
      socket.onclose = (event) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new InterviewConnectionError(`WebSocket connection to ${shownUrl} failed (code ${event && event.code})`));
      };
    });
  }

  /** Messages sent and not answered yet (0 or 1). */
  get inFlight() {
    return this._pending ? 1 : 0;
  }

  /** Messages waiting behind the one in flight. */
  get queued() {
    return this._waiting.length;
  }

  /**
   * Start a new session on this connection; resolves to {session_id, session_token?, message, timestamp}.
   * @param {string} candidateId
   * @param {{metadata?: object, timestamp?: number, policy?: object}} [options]
   */
  async start(candidateId, options = {}) {
    const message = { action: "start", ...startBody(candidateId, options) };
    const started = await this._send(message, "session_started");
    this.sessionId = started.session_id;
    return started;
  }

  /** Attach to a session opened earlier (over REST or a dropped connection); resolves to its id. */
  async resume(sessionId) {
    const resumed = await this._send({ action: "resume", session_id: sessionId }, "session_resumed");
    this.sessionId = resumed.session_id;
    return this.sessionId;
  }

  /**
   * Analyse one frame (base64, data URL, bytes or a Blob); resolves to the analysis. Sent as JSON
   * with the frame in base64, or with `binary: true` as a binary message of the image's own bytes
   * (a third smaller, no base64 on either side; bytes or a Blob only).
   * `audio` and `client`: the page's measures since the previous frame (AudioMeter, PageSignals).
   * @param {number|{timestamp?: number, includeLandmarks?: boolean, binary?: boolean, audio?: object|null, client?: object|null}} [options]
   */
  async sendFrame(frame, options = {}) {
    const opts = typeof options === "number" ? { timestamp: options } : options || {};
    // Only a Blob is awaited (read): other frames are on the wire, or queued, when this returns.
    const bytes = typeof Blob !== "undefined" && frame instanceof Blob ? await blobBytes(frame) : frame;
    if (opts.binary) return this._send(encodeBinaryFrame(bytes, opts), "analysis");
    const message = { action: "frame", frame: encodeFrame(bytes) };
    if (opts.timestamp != null) message.timestamp = opts.timestamp;
    if (opts.includeLandmarks) message.include_landmarks = true;
    if (opts.audio != null) message.audio = opts.audio;
    if (opts.client != null) message.client = opts.client;
    return this._send(message, "analysis");
  }

  /**
   * Grab a <video>/<canvas> picture as JPEG and send it (browser only); `binary`: as bytes.
   * @param {{quality?: number, maxWidth?: number, timestamp?: number, binary?: boolean, audio?: object|null, client?: object|null}} [options]
   */
  async sendCanvas(source, options = {}) {
    const { frame } = await captureFrame(source, options);
    return this.sendFrame(frame, {
      timestamp: options.timestamp ?? defaultClock(),
      binary: !!options.binary,
      audio: options.audio,
      client: options.client,
    });
  }

  /** End the session; resolves to the summary. The server then closes the connection. */
  async end() {
    const ended = await this._send({ action: "end" }, "session_ended");
    this.sessionId = null;
    this.close();
    return ended;
  }

  /** Close the connection (an open session stays open and can be resumed). */
  close() {
    if (this.closed) return;
    try {
      this.socket.close(1000);
    } catch (_) {
      /* already closing */
    }
    // Browsers fire `close` later; settle what is pending now.
    this._onClose({ code: 1000, reason: "closed by the client" });
  }

  _send(message, expected) {
    if (this.closed) return Promise.reject(new InterviewConnectionError("the WebSocket is closed"));
    if (this._pending && this._waiting.length >= this.maxQueue) {
      return Promise.reject(new QueueFullError(`${this._waiting.length} messages already wait for the connection`));
    }
    return new Promise((resolve, reject) => {
      this._waiting.push({ message, expected, resolve, reject });
      this._pump();
    });
  }

  _pump() {
    if (this._pending || this._waiting.length === 0) return;
    const next = this._waiting.shift();
    if (this.closed || this.socket.readyState !== OPEN) {
      next.reject(new InterviewConnectionError("the WebSocket is closed"));
      this._pump();
      return;
    }
    const timer = setTimeout(() => {
      // A late answer would be taken as the next message's: this connection is out of step.
      const pending = this._pending;
      this._pending = null;
      this.close();
      if (pending) pending.reject(new InterviewTimeoutError(`no answer within ${this.timeout} ms`));
    }, this.timeout);
    this._pending = { ...next, timer };
    try {
      // A binary frame goes as it is; everything else is a JSON text message.
      this.socket.send(next.message instanceof Uint8Array ? next.message : JSON.stringify(next.message));
    } catch (err) {
      clearTimeout(timer);
      this._pending = null;
      next.reject(new InterviewConnectionError(`could not send: ${err.message}`, { cause: err }));
      this._pump();
    }
  }

  _onMessage(event) {
    const pending = this._pending;
    if (!pending) return; // nothing asked: ignore
    this._pending = null;
    clearTimeout(pending.timer);
    let reply;
    try {
      const data = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
      reply = JSON.parse(data);
    } catch (err) {
      pending.reject(new BadReplyError(502, "bad_reply", `the answer is not JSON: ${err}`));
      this._pump();
      return;
    }
    const { type, ...body } = reply || {};
    if (type === "error") {
      const retryAfter = typeof body.retry_after === "number" ? body.retry_after : null;
      pending.reject(apiError(Number(body.status) || 500, String(body.code), String(body.detail ?? ""), { retryAfter }));
    } else if (type !== pending.expected) {
      pending.reject(new BadReplyError(502, "bad_reply", `expected '${pending.expected}', got '${type}'`));
    } else {
      pending.resolve(body);
    }
    this._pump();
  }

  _onClose(event) {
    if (this.closed) return;
    this.closed = true;
    const code = event && event.code;
    const error = () => new InterviewConnectionError(`the WebSocket closed (code ${code})`);
    const pending = this._pending;
    this._pending = null;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(error());
    }
    for (const waiting of this._waiting.splice(0)) waiting.reject(error());
    if (typeof this.onclose === "function") this.onclose(event);
  }
}
