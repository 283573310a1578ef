// The REST request bodies, built in one place and type-checked (`npm test`: tsc with checkJs)
// against the types generated from the service's OpenAPI document (schema.d.ts): a field the
// service renames, retypes or starts to require breaks the check. The WebSocket messages carry
// the same fields (plus `action`). No imports: the check covers exactly this file.

/**
 * @typedef {import("./schema.js").StartSessionRequest} StartSessionRequest
 * @typedef {import("./schema.js").AnalyzeFrameRequest} AnalyzeFrameRequest
 * @typedef {import("./schema.js").EndSessionRequest} EndSessionRequest
 * @typedef {import("./schema.js").ReviewRequest} ReviewRequest
 * @typedef {import("./schema.js").PolicyRequest} PolicyRequest
 */

// The page's measures sent with a frame (issue 25's wire format), typed here as well as in
// schema.d.ts (generated from the service's OpenAPI): the intersection below checks they agree.
/**
 * @typedef {{rms_dbfs: number, speech_prob: number}} AudioFeatures
 * @typedef {{visible?: boolean | null, focused?: boolean | null, fullscreen?: boolean | null,
 *   screens?: number | null, hidden_ms?: number | null, blur_count?: number | null,
 *   paste_count?: number | null}} ClientSignals
 * @typedef {AnalyzeFrameRequest & {audio?: AudioFeatures, client?: ClientSignals}} AnalyzeFrameBody
 */

/**
 * @param {string} candidateId
 * @param {{metadata?: Record<string, unknown> | null, timestamp?: number | null, policy?: PolicyRequest | null}} [options]
 *   policy: the interview's rules (a profile, stakes, allowances); unknown keys are refused (422)
 * @returns {StartSessionRequest}
 */
export function startBody(candidateId, options = {}) {
  /** @type {StartSessionRequest} */
  const body = { candidate_id: candidateId };
  if (options.metadata != null) body.metadata = options.metadata;
  if (options.timestamp != null) body.timestamp = options.timestamp;
  if (options.policy != null) body.policy = options.policy;
  return body;
}

/**
 * @param {string} sessionId
 * @param {string} frame base64 (encodeFrame's output)
 * @param {{timestamp?: number | null, includeLandmarks?: boolean, audio?: AudioFeatures | null, client?: ClientSignals | null}} [options]
 *   audio, client: the page's measures over the interval since the previous frame (AudioMeter,
 *   PageSignals); left out when not given, so a body without them is as it always was
 * @returns {AnalyzeFrameBody}
 */
export function analyzeBody(sessionId, frame, options = {}) {
  /** @type {AnalyzeFrameBody} */
  const body = { session_id: sessionId, frame };
  if (options.timestamp != null) body.timestamp = options.timestamp;
  if (options.includeLandmarks) body.include_landmarks = true;
  if (options.audio != null) body.audio = options.audio;
  if (options.client != null) body.client = options.client;
  return body;
}

/**
 * @param {string} sessionId
 * @returns {EndSessionRequest}
 */
export function endBody(sessionId) {
  return { session_id: sessionId };
}

/**
 * @param {ReviewRequest["decision"]} decision
 * @param {{note?: string | null}} [options]
 * @returns {ReviewRequest}
 */
export function reviewBody(decision, options = {}) {
  /** @type {ReviewRequest} */
  const body = { decision };
  if (options.note != null) body.note = options.note;
  return body;
}
