// Typed errors of the Interview Integrity client. Every refusal of the service is an
// InterviewApiError (status, code, detail), and each stable `code` has its own subclass, so callers
// can write `err instanceof SessionExpiredError` or branch on `err.code`.

/** Base class of every error this client throws. */
export class InterviewError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The service (or a proxy in front of it) refused a request. */
export class InterviewApiError extends InterviewError {
  /**
   * @param {number} status HTTP status (400, 401, 403, 404, 409, 410, 413, 422, 429, 503, ...)
   * @param {string} code stable machine-readable code, e.g. "session_not_found"
   * @param {string} detail human-readable explanation
   * @param {{errors?: Array<object>, retryAfter?: number|null}} [extra] the field errors of a 422;
   *   the Retry-After of a 429/503, in seconds
   */
  constructor(status, code, detail, extra = {}) {
    super(`${status} ${code}: ${detail}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = extra.errors || [];
    this.retryAfter = extra.retryAfter ?? null;
  }
}

export class InvalidBase64Error extends InterviewApiError {}
export class NotAnImageError extends InterviewApiError {}
export class BadMessageError extends InterviewApiError {}
/** 422 invalid_policy: the policy names a profile the service does not have. */
export class InvalidPolicyError extends InterviewApiError {}
export class UnauthorizedError extends InterviewApiError {}
export class ForbiddenError extends InterviewApiError {}
export class SessionNotFoundError extends InterviewApiError {}
/** 404 event_not_found: the session has no event with that id (reviews). */
export class EventNotFoundError extends InterviewApiError {}
/** 404 evidence_not_found: no evidence image for that event (none stored, or past its retention). */
export class EvidenceNotFoundError extends InterviewApiError {}
export class SessionEndedError extends InterviewApiError {}
export class SessionExpiredError extends InterviewApiError {}
export class FrameTooLargeError extends InterviewApiError {}
export class ValidationError extends InterviewApiError {}
export class TooManySessionsError extends InterviewApiError {}
export class RateLimitedError extends InterviewApiError {}
export class AnalysisFailedError extends InterviewApiError {}
/** 503 model_unavailable: a model the frame needs is not loaded; retrying will not help. */
export class ModelUnavailableError extends AnalysisFailedError {}
export class SessionStoreUnavailableError extends InterviewApiError {}
/** 503 overloaded: the service has as many frames in flight as it admits; wait retryAfter. */
export class OverloadedError extends InterviewApiError {}
export class InternalServerError extends InterviewApiError {}
/** The answer was not what the protocol promises (not JSON, or the wrong message type). */
export class BadReplyError extends InterviewApiError {}

/** The service could not be reached, or the WebSocket closed under a request. */
export class InterviewConnectionError extends InterviewError {}
/** No answer within the client's timeout. */
export class InterviewTimeoutError extends InterviewError {}
/** A frame was offered while the stream's queue was full (see InterviewStream's maxQueue). */
export class QueueFullError extends InterviewError {}

/** The class of each stable error code (docs/API.md, "Errors"). */
export const ERROR_CLASSES = Object.freeze({
  invalid_base64: InvalidBase64Error,
  not_an_image: NotAnImageError,
  bad_message: BadMessageError,
  invalid_policy: InvalidPolicyError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  session_not_found: SessionNotFoundError,
  event_not_found: EventNotFoundError,
  evidence_not_found: EvidenceNotFoundError,
  session_ended: SessionEndedError,
  session_expired: SessionExpiredError,
  frame_too_large: FrameTooLargeError,
  validation_error: ValidationError,
  too_many_sessions: TooManySessionsError,
  rate_limited: RateLimitedError,
  analysis_failed: AnalysisFailedError,
  model_unavailable: ModelUnavailableError,
  session_store_unavailable: SessionStoreUnavailableError,
  overloaded: OverloadedError,
  internal_error: InternalServerError,
  bad_reply: BadReplyError,
});

/** For answers without the service's JSON (a proxy, a gateway): the class by HTTP status. */
const STATUS_CLASSES = { 401: UnauthorizedError, 403: ForbiddenError, 429: RateLimitedError };

/**
 * The error for a refusal: by `code` when the service sent one, else by status.
 * @returns {InterviewApiError}
 */
export function apiError(status, code, detail, extra = {}) {
  const Cls = ERROR_CLASSES[code] || STATUS_CLASSES[status] || InterviewApiError;
  return new Cls(status, code, detail, extra);
}

/** Retry-After (seconds, or an HTTP date) in seconds; null when absent or unreadable. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value === "") return null;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, (at - now) / 1000);
}
