/**
 * A dependency-free client for the Interview Integrity API (REST and WebSocket).
 *
 * Works in browsers and in Node >= 18 (global fetch). Copy this one file into your project:
 *   - browser, classic script:  <script src="javascript_client.js"></script>  ->  window.InterviewIntegrity
 *   - CommonJS (Node, bundlers): const { InterviewClient } = require("./javascript_client.js");
 *   - ES modules (Node):         import { InterviewClient } from "./javascript_client.js";
 *     (Node imports CommonJS files; in a "type": "module" package, name the file javascript_client.cjs)
 *
 * Streaming needs a WebSocket class: browsers and Node >= 22 have a global one; on Node 18/20 pass
 * one in, e.g. new InterviewClient(url, { WebSocket: require("ws") }) (or run Node 20 with
 * --experimental-websocket).
 *
 * Every refusal (a non-2xx answer, or a {"type": "error"} WebSocket message) rejects with an
 * InterviewApiError carrying the HTTP `status`, the stable `code` (e.g. "session_not_found") and `detail`.
 */
(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module && module.exports) {
    module.exports = api;
    // Never runs: tells Node's CommonJS lexer the names, so `import { InterviewClient }` works.
    0 && (module.exports = { InterviewClient, InterviewStream, InterviewApiError, captureFrame, encodeFrame });
  } else {
    root.InterviewIntegrity = api;
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  /** The service refused a request. */
  class InterviewApiError extends Error {
    /**
     * @param {number} status HTTP status (400, 404, 409, 410, 413, 422, 429, 503, ...)
     * @param {string} code stable machine-readable code, e.g. "session_not_found"
     * @param {string} detail human-readable explanation
     * @param {Array<object>} [errors] the field errors of a 422
     */
    constructor(status, code, detail, errors) {
      super(`${status} ${code}: ${detail}`);
      this.name = "InterviewApiError";
      this.status = status;
      this.code = code;
      this.detail = detail;
      this.errors = errors || [];
    }
  }

  function trimSlash(url) {
    return String(url).replace(/\/+$/, "");
  }

  function wsUrl(baseUrl) {
    const base = trimSlash(baseUrl);
    if (base.startsWith("https://")) return "wss://" + base.slice(8) + "/ws/stream";
    if (base.startsWith("http://")) return "ws://" + base.slice(7) + "/ws/stream";
    if (base.startsWith("ws://") || base.startsWith("wss://")) return base + "/ws/stream";
    return "ws://" + base + "/ws/stream";
  }

  /** Base64 of raw bytes (Uint8Array / ArrayBuffer), in browsers and in Node. */
  function bytesToBase64(data) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (typeof Buffer !== "undefined") return Buffer.from(bytes).toString("base64");
    let binary = "";
    const chunk = 0x8000; // keep String.fromCharCode's argument list short
    for (let i = 0; i < bytes.length; i += chunk) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(binary);
  }

  /** The `frame` field: strings (base64 or a data URL) pass through, bytes are base64-encoded. */
  function encodeFrame(frame) {
    if (typeof frame === "string") return frame;
    if (frame instanceof ArrayBuffer || ArrayBuffer.isView(frame)) {
      const view = ArrayBuffer.isView(frame)
        ? new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength)
        : frame;
      return bytesToBase64(view);
    }
    throw new TypeError("frame must be a base64 string, a data URL, an ArrayBuffer or a Uint8Array");
  }

  /**
   * Grab the current picture of a <video>, <canvas>, <img>, ImageBitmap or OffscreenCanvas as a
   * base64 JPEG (no data-URL prefix). Browser only.
   * @param {HTMLVideoElement|HTMLCanvasElement|HTMLImageElement|ImageBitmap|OffscreenCanvas} source
   * @param {number} [quality=0.85] JPEG quality, 0..1
   * @param {number} [maxWidth] scale down to at most this width (keeps the aspect ratio)
   * @returns {Promise<string>}
   */
  async function captureFrame(source, quality = 0.85, maxWidth) {
    const width = source.videoWidth || source.naturalWidth || source.width;
    const height = source.videoHeight || source.naturalHeight || source.height;
    if (!width || !height) {
      throw new Error("the source has no picture yet (wait for the video's 'loadeddata' event)");
    }
    const scale = maxWidth && width > maxWidth ? maxWidth / width : 1;
    const w = Math.round(width * scale);
    const h = Math.round(height * scale);

    let canvas = source;
    const isCanvas =
      (typeof HTMLCanvasElement !== "undefined" && source instanceof HTMLCanvasElement) ||
      (typeof OffscreenCanvas !== "undefined" && source instanceof OffscreenCanvas);
    if (!isCanvas || scale !== 1) {
      if (typeof document !== "undefined") {
        canvas = document.createElement("canvas");
        canvas.width = w;
        canvas.height = h;
      } else if (typeof OffscreenCanvas !== "undefined") {
        canvas = new OffscreenCanvas(w, h);
      } else {
        throw new Error("captureFrame needs a browser (a canvas to draw on)");
      }
      canvas.getContext("2d").drawImage(source, 0, 0, w, h);
    }

    if (typeof canvas.toDataURL === "function") {
      const dataUrl = canvas.toDataURL("image/jpeg", quality);
      return dataUrl.slice(dataUrl.indexOf(",") + 1);
    }
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality }); // OffscreenCanvas
    return bytesToBase64(await blob.arrayBuffer());
  }

  /** REST client. `baseUrl` is the service root, e.g. "http://localhost:8000". */
  class InterviewClient {
    /**
     * @param {string} baseUrl
     * @param {{timeout?: number, headers?: Record<string,string>, fetch?: Function, WebSocket?: Function}} [options]
     *   timeout in milliseconds (default 30000); headers sent with every REST request; fetch and
     *   WebSocket implementations (default: the global ones).
     */
    constructor(baseUrl, options = {}) {
      this.baseUrl = trimSlash(baseUrl);
      this.timeout = options.timeout ?? 30000;
      this.headers = options.headers || {};
      this._fetch = options.fetch || globalThis.fetch;
      this._WebSocket = options.WebSocket || globalThis.WebSocket;
      if (typeof this._fetch !== "function") {
        throw new Error("no fetch available: use Node >= 18 or pass options.fetch");
      }
    }

    /** Open a session; resolves to its session_id. */
    async startSession(candidateId, metadata, timestamp) {
      const body = { candidate_id: candidateId };
      if (metadata != null) body.metadata = metadata;
      if (timestamp != null) body.timestamp = timestamp;
      const started = await this._request("POST", "/start-session", body);
      return started.session_id;
    }

    /**
     * Analyse one frame. `frame`: base64 JPEG/PNG (a data URL is fine), or raw bytes.
     * `timestamp`: capture time in seconds on any clock used consistently within the session
     * (e.g. performance.now() / 1000); the server's clock when omitted.
     * Resolves to {session_id, cheating, risk_score, attention, gaze, faces, objects, events,
     * processing_time_ms, timestamp, verdict, event_details, details}.
     */
    async analyzeFrame(sessionId, frame, timestamp, options = {}) {
      const body = { session_id: sessionId, frame: encodeFrame(frame) };
      if (timestamp != null) body.timestamp = timestamp;
      if (options.includeLandmarks) body.include_landmarks = true;
      return this._request("POST", "/analyze-frame", body);
    }

    /** Grab the current picture of a <video>/<canvas> as JPEG and analyse it (browser only). */
    async analyzeFrameFromCanvas(sessionId, canvas, quality = 0.85, timestamp) {
      const ts = timestamp ?? (typeof performance !== "undefined" ? performance.now() / 1000 : undefined);
      return this.analyzeFrame(sessionId, await captureFrame(canvas, quality), ts);
    }

    /** Close the session; resolves to {session_id, final_risk_score, verdict, total_violations,
     *  duration_seconds, summary}. */
    async endSession(sessionId) {
      return this._request("POST", "/end-session", { session_id: sessionId });
    }

    /** Resolves to {status, service, uptime_seconds, active_sessions, models_loaded, models, version}. */
    async health() {
      return this._request("GET", "/health");
    }

    /** A WebSocket stream to the same service; resolves once the connection is open. */
    async stream() {
      return InterviewStream.connect(this.baseUrl, { timeout: this.timeout, WebSocket: this._WebSocket });
    }

    async _request(method, path, body) {
      const controller = typeof AbortController !== "undefined" ? new AbortController() : null;
      const timer = controller ? setTimeout(() => controller.abort(), this.timeout) : null;
      let response;
      try {
        response = await this._fetch(this.baseUrl + path, {
          method,
          headers: body === undefined ? { ...this.headers } : { "content-type": "application/json", ...this.headers },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: controller ? controller.signal : undefined,
        });
      } finally {
        if (timer) clearTimeout(timer);
      }
      const text = await response.text();
      let payload = null;
      try {
        payload = text ? JSON.parse(text) : null;
      } catch (_) {
        payload = null;
      }
      if (!response.ok) {
        if (payload && typeof payload.code === "string") {
          throw new InterviewApiError(response.status, payload.code, String(payload.detail ?? ""), payload.errors);
        }
        // Not the service's JSON (a proxy or gateway): keep what there is.
        throw new InterviewApiError(response.status, `http_${response.status}`, text.slice(0, 500) || response.statusText);
      }
      return payload;
    }
  }

  /**
   * One WebSocket connection to /ws/stream, one session at a time. Each call sends one message and
   * resolves with its answer (the REST body; the `type` field removed). Calls are queued, so only
   * one message is in flight at a time and answers never get mixed up.
   *
   *   const ws = await client.stream();
   *   await ws.start("candidate-42");
   *   const result = await ws.sendFrame(base64Jpeg, performance.now() / 1000);
   *   const summary = await ws.end();   // the server then closes the connection
   */
  class InterviewStream {
    constructor(socket, timeout) {
      this.socket = socket;
      this.timeout = timeout;
      this.sessionId = null;
      this.closed = false;
      this._queue = Promise.resolve();
      this._pending = null; // {resolve, reject, timer}
      socket.onmessage = (event) => this._onMessage(event);
      socket.onclose = (event) => this._onClose(event);
      socket.onerror = () => {}; // a close event follows and rejects what is pending
    }

    /** Open a connection; resolves to an InterviewStream. */
    static connect(baseUrl, options = {}) {
      const WebSocketImpl = options.WebSocket || globalThis.WebSocket;
      if (typeof WebSocketImpl !== "function") {
        return Promise.reject(
          new Error('no WebSocket available: pass options.WebSocket (e.g. require("ws")) on Node < 22')
        );
      }
      const timeout = options.timeout ?? 30000;
      return new Promise((resolve, reject) => {
        const socket = new WebSocketImpl(wsUrl(baseUrl));
        const timer = setTimeout(() => {
          socket.close();
          reject(new Error(`WebSocket did not open within ${timeout} ms`));
        }, timeout);
        socket.onopen = () => {
          clearTimeout(timer);
          resolve(new InterviewStream(socket, timeout));
        };
        socket.onerror = () => {
          clearTimeout(timer);
          reject(new Error(`WebSocket connection to ${wsUrl(baseUrl)} failed`));
        };
      });
    }

    /** Start a new session on this connection; resolves to {session_id, message, timestamp}. */
    async start(candidateId, metadata, timestamp) {
      const message = { action: "start", candidate_id: candidateId };
      if (metadata != null) message.metadata = metadata;
      if (timestamp != null) message.timestamp = timestamp;
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

    /** Analyse one frame (base64, data URL or bytes); resolves to the analysis. */
    async sendFrame(frame, timestamp, options = {}) {
      const message = { action: "frame", frame: encodeFrame(frame) };
      if (timestamp != null) message.timestamp = timestamp;
      if (options.includeLandmarks) message.include_landmarks = true;
      return this._send(message, "analysis");
    }

    /** Grab a <video>/<canvas> picture as JPEG and send it (browser only). */
    async sendCanvas(canvas, quality = 0.85, timestamp) {
      const ts = timestamp ?? (typeof performance !== "undefined" ? performance.now() / 1000 : undefined);
      return this.sendFrame(await captureFrame(canvas, quality), ts);
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
      if (!this.closed) {
        this.closed = true;
        try {
          this.socket.close(1000);
        } catch (_) {
          /* already closing */
        }
      }
    }

    _send(message, expected) {
      const run = () =>
        new Promise((resolve, reject) => {
          if (this.closed || this.socket.readyState !== 1) {
            reject(new Error("the WebSocket is closed"));
            return;
          }
          const timer = setTimeout(() => {
            this._pending = null;
            // A late answer would be taken as the next message's: this connection is out of step.
            this.close();
            reject(new Error(`no answer within ${this.timeout} ms`));
          }, this.timeout);
          this._pending = { resolve, reject, timer, expected };
          this.socket.send(JSON.stringify(message));
        });
      const result = this._queue.then(run, run);
      this._queue = result.catch(() => {});
      return result;
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
        pending.reject(new InterviewApiError(502, "bad_reply", `the answer is not JSON: ${err}`));
        return;
      }
      const { type, ...body } = reply;
      if (type === "error") {
        pending.reject(new InterviewApiError(Number(body.status) || 500, String(body.code), String(body.detail)));
      } else if (type !== pending.expected) {
        pending.reject(new InterviewApiError(502, "bad_reply", `expected '${pending.expected}', got '${type}'`));
      } else {
        pending.resolve(body);
      }
    }

    _onClose(event) {
      this.closed = true;
      const pending = this._pending;
      if (pending) {
        this._pending = null;
        clearTimeout(pending.timer);
        pending.reject(new Error(`the WebSocket closed (code ${event && event.code})`));
      }
    }
  }

  return { InterviewClient, InterviewStream, InterviewApiError, captureFrame, encodeFrame };
});
