import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ERROR_CLASSES,
  ForbiddenError,
  InterviewApiError,
  InterviewError,
  SessionExpiredError,
  TooManySessionsError,
  apiError,
  parseRetryAfter,
} from "../src/index.js";

test("every documented code has its class", () => {
  for (const code of [
    "invalid_base64", "not_an_image", "bad_message", "unauthorized", "forbidden", "session_not_found",
    "session_ended", "session_expired", "frame_too_large", "validation_error", "too_many_sessions",
    "rate_limited", "analysis_failed", "session_store_unavailable", "internal_error",
  ]) {
    const err = apiError(400, code, "x");
    assert.ok(err instanceof ERROR_CLASSES[code], code);
    assert.ok(err instanceof InterviewApiError && err instanceof InterviewError && err instanceof Error);
    assert.equal(err.code, code);
    assert.equal(err.name, ERROR_CLASSES[code].name);
  }
  assert.ok(apiError(410, "session_expired", "idle") instanceof SessionExpiredError);
  assert.ok(apiError(429, "too_many_sessions", "full") instanceof TooManySessionsError);
  assert.ok(apiError(403, "http_403", "proxy") instanceof ForbiddenError);
  const unknown = apiError(418, "teapot", "short and stout");
  assert.equal(unknown.constructor, InterviewApiError);
});

test("Retry-After in seconds or as an HTTP date", () => {
  assert.equal(parseRetryAfter("3"), 3);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter("soon"), null);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2025 00:00:05 GMT", now), 0);
});
