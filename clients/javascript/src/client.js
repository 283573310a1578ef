// The REST client: startSession, analyzeFrame, analyzeFrameFromCanvas, endSession, the session
// records (getRecord, getEvidence, reviewEvent, getReport) and health; retries 429 and 503 answers
// with backoff, honouring Retry-After.

import {
  InterviewConnectionError,
  InterviewTimeoutError,
  apiError,
  parseRetryAfter,
} from "./errors.js";
import { analyzeBody, endBody, reviewBody, startBody } from "./bodies.js";
import { captureFrame, encodeFrame } from "./frames.js";
import { InterviewStream } from "./stream.js";
import { FrameStreamer } from "./streamer.js";
import { defaultClock, sleep, trimSlash } from "./util.js";

/** A path segment: an id cannot add segments or a query. */
const segment = (value) => encodeURIComponent(String(value));

export const DEFAULT_RETRY = Object.freeze({ retries: 3, baseDelayMs: 500, maxDelayMs: 10000 });
const RETRY_STATUSES = new Set([429, 503]);
// Refusals whose code says a retry cannot help: the model is not loaded.
const NEVER_RETRIED = new Set(["model_unavailable"]);

/**
 * How long to wait before retry number `attempt` (0-based): the server's Retry-After when it gave
 * one (never sooner), else exponential backoff with jitter. null: give up.
 */
export function retryDelayMs(attempt, error, policy, random = Math.random) {
  if (attempt >= policy.retries) return null;
  if (error.retryAfter != null) {
    const wait = error.retryAfter * 1000;
    return wait <= policy.maxDelayMs ? wait : null; // longer than we are willing to wait: give up
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** REST client. `baseUrl` is the service root, e.g. "http://localhost:8000". */
export class InterviewClient {
  /**
   * @param {string} baseUrl
   * @param {object} [options]
   * @param {string} [options.apiKey] the platform's API key (backends only): sent as X-API-Key
   * @param {string} [options.sessionToken] a session token handed to the candidate's browser: sent
   *   as `Authorization: Bearer` (REST) and `?access_token=` (WebSocket)
   * @param {number} [options.timeout=30000] milliseconds per request
   * @param {false|{retries?: number, baseDelayMs?: number, maxDelayMs?: number}} [options.retry]
   * @param {Record<string,string>} [options.headers] sent with every REST request
   * @param {typeof fetch} [options.fetch] default: the global fetch
   * @param {typeof WebSocket} [options.WebSocket] default: the global WebSocket (Node 20: pass `ws`)
   */
  constructor(baseUrl, options = {}) {
    this.baseUrl = trimSlash(baseUrl);
    this.timeout = options.timeout ?? 30000;
    this.apiKey = options.apiKey ?? null;
    this.sessionToken = options.sessionToken ?? null;
    this.headers = { ...(options.headers || {}) };
    this.retry = options.retry === false ? { ...DEFAULT_RETRY, retries: 0 } : { ...DEFAULT_RETRY, ...(options.retry || {}) };
    this._fetch = options.fetch || globalThis.fetch;
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    if (typeof this._fetch !== "function") {
      throw new Error("no fetch available: use Node >= 18 or pass options.fetch");
    }
  }

  /** The token for the WebSocket's `access_token`: the API key, else the session token. */
  get accessToken() {
    return this.apiKey || this.sessionToken || null;
  }

  /**
   * Open a session. Resolves to {session_id, session_token?, message, timestamp}; hand
   * `session_token` to the candidate's browser (it may send frames for this session only).
   * @param {string} candidateId
   * @param {{metadata?: object, timestamp?: number, policy?: object}} [options]
   */
  async startSession(candidateId, options = {}) {
    return this._request("POST", "/start-session", startBody(candidateId, options));
  }

  /**
   * Analyse one frame: base64 JPEG/PNG (a data URL is fine) or raw bytes.
   * @param {string} sessionId
   * @param {string|ArrayBuffer|ArrayBufferView} frame
   * @param {number|{timestamp?: number, includeLandmarks?: boolean, audio?: object, client?: object}} [options]
   *   timestamp: the capture time in seconds on any clock used consistently within the session (the
   *   server's clock when omitted); audio, client: the page's measures since the previous frame
   *   (AudioMeter.take(), PageSignals.take())
   */
  async analyzeFrame(sessionId, frame, options = {}) {
    const opts = typeof options === "number" ? { timestamp: options } : options || {};
    return this._request("POST", "/analyze-frame", analyzeBody(sessionId, encodeFrame(frame), opts));
  }

  /**
   * Grab the current picture of a <video>/<canvas>/<img> as JPEG and analyse it (browser only).
   * @param {{quality?: number, maxWidth?: number, timestamp?: number, includeLandmarks?: boolean, audio?: object, client?: object}} [options]
   *   timestamp defaults to the page's clock (performance.timeOrigin + performance.now(), in s)
   */
  async analyzeFrameFromCanvas(sessionId, source, options = {}) {
    const { frame } = await captureFrame(source, options);
    const timestamp = options.timestamp ?? defaultClock();
    const { includeLandmarks, audio, client } = options;
    return this.analyzeFrame(sessionId, frame, { timestamp, includeLandmarks, audio, client });
  }

  /** Close the session; resolves to {session_id, final_risk_score, verdict, total_violations,
   *  duration_seconds, summary}. Needs the API key where the service requires one. */
  async endSession(sessionId) {
    return this._request("POST", "/end-session", endBody(sessionId));
  }

  /**
   * The session's record (API key): status, automatic and reviewed verdicts, events with their
   * evidence URLs and reviews, risk over time, which models ran. Open sessions answer live; ended
   * and expired ones until `kept_until`.
   * @param {string} sessionId
   */
  async getRecord(sessionId) {
    return this._request("GET", `/sessions/${segment(sessionId)}`);
  }

  /**
   * An event's evidence image, as JPEG bytes (a Uint8Array): its frame with what made the case
   * drawn on it. The API key, or that session's token. `eventId`: the event's `id` (`ev0001`, ...).
   * In a page: `URL.createObjectURL(new Blob([bytes], { type: "image/jpeg" }))`.
   * @param {string} sessionId
   * @param {string} eventId
   */
  async getEvidence(sessionId, eventId) {
    return this._request("GET", `/sessions/${segment(sessionId)}/events/${segment(eventId)}/evidence`, undefined, "bytes");
  }

  /**
   * Confirm or dismiss an event (API key; a later decision replaces an earlier one). Resolves to
   * {session_id, event_id, review, verdict, reviewed_verdict, reviewed_verdict_reason}.
   * @param {string} sessionId
   * @param {string} eventId
   * @param {"confirmed"|"dismissed"} decision
   * @param {{note?: string}} [options]
   */
  async reviewEvent(sessionId, eventId, decision, options = {}) {
    const path = `/sessions/${segment(sessionId)}/events/${segment(eventId)}/review`;
    return this._request("POST", path, reviewBody(decision, options));
  }

  /**
   * The session's report (API key): one self-contained HTML page, as a string.
   * @param {string} sessionId
   */
  async getReport(sessionId) {
    return this._request("GET", `/sessions/${segment(sessionId)}/report`, undefined, "text");
  }

  /** Resolves to {status, service, uptime_seconds, active_sessions, models_loaded, models, version}. */
  async health() {
    return this._request("GET", "/health");
  }

  /** One WebSocket connection to /ws/stream (see InterviewStream); resolves once it is open. */
  async connect(options = {}) {
    return InterviewStream.connect(this.baseUrl, {
      timeout: this.timeout,
      WebSocket: this._WebSocket,
      accessToken: this.accessToken,
      ...options,
    });
  }

  /**
   * Stream a <video>, a MediaStream (or any frame source) at `fps` over one WebSocket, with at most
   * one frame in flight: frames that come due while one is being analysed are dropped, never
   * queued. Reconnects and resumes the session when the connection drops. See FrameStreamer.
   */
  streamVideo(source, options = {}) {
    return new FrameStreamer(this, source, options);
  }

  _authHeaders() {
    if (this.apiKey) return { "X-API-Key": this.apiKey };
    if (this.sessionToken) return { Authorization: `Bearer ${this.sessionToken}` };
    return {};
  }

  async _request(method, path, body, read = "json") {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this._once(method, path, body, read);
      } catch (error) {
        if (!RETRY_STATUSES.has(error.status) || NEVER_RETRIED.has(error.code)) throw error;
        const wait = retryDelayMs(attempt, error, this.retry);
        if (wait == null) throw error;
        await sleep(wait);
      }
    }
  }

  /** One try; `read`: what a success answer is read as ("json", "text" or "bytes"). */
  async _once(method, path, body, read) {
    const controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), this.timeout) : null;
    const headers = { ...this._authHeaders(), ...this.headers };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    let text;
    let bytes = null;
    try {
      response = await this._fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller ? controller.signal : undefined,
      });
      if (read === "bytes" && response.ok) bytes = new Uint8Array(await response.arrayBuffer());
      else text = await response.text();
    } catch (err) {
      if (controller && controller.signal.aborted) {
        throw new InterviewTimeoutError(`${method} ${path}: no answer within ${this.timeout} ms`, { cause: err });
      }
      throw new InterviewConnectionError(`${method} ${path}: ${err && err.message ? err.message : err}`, {
        cause: err,
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (bytes) return bytes;
    if (response.ok && read === "text") return text;
    let payload = null;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch (_) {
      payload = null;
    }
    if (response.ok) return payload;
    let retryAfter = parseRetryAfter(response.headers && response.headers.get ? response.headers.get("retry-after") : null);
    if (retryAfter == null && payload && typeof payload.retry_after === "number") retryAfter = payload.retry_after;
    if (payload && typeof payload.code === "string") {
      throw apiError(response.status, payload.code, String(payload.detail ?? ""), {
        errors: Array.isArray(payload.errors) ? payload.errors : [],
        retryAfter,
      });
    }
    // Not the service's JSON (a proxy or gateway): keep what there is.
    throw apiError(response.status, `http_${response.status}`, (text || "").slice(0, 500) || response.statusText, {
      retryAfter,
    });
  }
}
