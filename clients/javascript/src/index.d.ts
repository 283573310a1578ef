// Type declarations of @interview-integrity/client (the API's bodies: docs/API.md).

/** INCONCLUSIVE: too little of the session could be observed to call it clean. */
export type Verdict = "CLEAN" | "SUSPICIOUS" | "CHEATING" | "INCONCLUSIVE";
/** In the image as displayed: "left" is toward the image's left edge (the candidate's right). */
export type Gaze = "center" | "left" | "right" | "up" | "down" | "unknown";
export type Severity = "low" | "medium" | "high" | "critical";
/** base64 JPEG/PNG (a data URL is fine) or raw bytes, base64-encoded for you. */
export type Frame = string | ArrayBuffer | ArrayBufferView;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FaceDetail {
  box: Box;
  score: number;
  detector: string;
  /** Checks a doubtful candidate passed to be counted (empty: a sure detection). */
  checks?: unknown[];
  landmarks: Array<[number, number]> | null;
  [key: string]: unknown;
}

export interface DetectedObject {
  label: string;
  confidence: number;
  box: Box;
  partial: boolean;
  event: string | null;
}

export interface EventDetail {
  /** Stable within the session (`ev0001`, ...): the key of its evidence and of reviews. */
  id?: string;
  type: string;
  severity: Severity;
  risk_increase: number;
  timestamp: number;
  risk_after: number;
  evidence: Record<string, unknown>;
  /** The event's evidence image (JPEG): GET it with the API key or the session's token. */
  evidence_url?: string | null;
}

export interface ModelStatus {
  available: boolean;
  detail: string | null;
  [key: string]: unknown;
}

export interface FrameDetails {
  image_width: number;
  image_height: number;
  faces: FaceDetail[];
  /** The face detector that ran on this frame. The rest is diagnostic and may change between versions. */
  face_detector?: string;
  unverified_face_candidates: number;
  gaze: Record<string, unknown> | null;
  behaviour: Record<string, unknown> | null;
  models: Record<string, ModelStatus>;
  risk_score_exact: number;
  peak_risk_score: number;
  timings_ms: Record<string, number>;
  [key: string]: unknown;
}

export interface StartSessionResponse {
  session_id: string;
  /** Present where the service issues tokens: hand it to the candidate's browser. */
  session_token?: string;
  message: string;
  timestamp: number;
}

export interface AnalyzeFrameResponse {
  session_id: string;
  cheating: boolean;
  risk_score: number;
  attention: number;
  gaze: Gaze;
  faces: number;
  objects: DetectedObject[];
  events: string[];
  processing_time_ms: number;
  timestamp: number;
  verdict: Verdict;
  event_details: EventDetail[];
  details: FrameDetails;
}

export interface SessionSummary {
  candidate_id: string;
  metadata: Record<string, unknown>;
  started_at: number;
  ended_at: number;
  frames_analyzed: number;
  event_counts: Record<string, number>;
  peak_risk_score: number;
  final_risk_score: number;
  verdict_reason: string;
  average_attention: number | null;
  timeline: EventDetail[];
  timeline_truncated: number;
  models_unavailable: Record<string, string>;
  [key: string]: unknown;
}

export interface EndSessionResponse {
  session_id: string;
  final_risk_score: number;
  verdict: Verdict;
  total_violations: number;
  duration_seconds: number;
  summary: SessionSummary;
}

export interface HealthResponse {
  status: "ok" | "degraded";
  service: string;
  uptime_seconds: number;
  active_sessions: number;
  models_loaded: boolean;
  models: Record<string, ModelStatus>;
  version: string;
}

// -- errors ---------------------------------------------------------------------------------------
export class InterviewError extends Error {}
export class InterviewApiError extends InterviewError {
  constructor(
    status: number,
    code: string,
    detail: string,
    extra?: { errors?: Array<Record<string, unknown>>; retryAfter?: number | null }
  );
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors: Array<Record<string, unknown>>;
  /** Seconds, from the Retry-After header of a 429/503; null when absent. */
  readonly retryAfter: number | null;
}
export class InvalidBase64Error extends InterviewApiError {}
export class NotAnImageError extends InterviewApiError {}
export class BadMessageError extends InterviewApiError {}
export class UnauthorizedError extends InterviewApiError {}
export class ForbiddenError extends InterviewApiError {}
export class SessionNotFoundError extends InterviewApiError {}
export class SessionEndedError extends InterviewApiError {}
export class SessionExpiredError extends InterviewApiError {}
export class FrameTooLargeError extends InterviewApiError {}
export class ValidationError extends InterviewApiError {}
export class TooManySessionsError extends InterviewApiError {}
export class RateLimitedError extends InterviewApiError {}
export class AnalysisFailedError extends InterviewApiError {}
export class SessionStoreUnavailableError extends InterviewApiError {}
export class InternalServerError extends InterviewApiError {}
export class BadReplyError extends InterviewApiError {}
export class InterviewConnectionError extends InterviewError {}
export class InterviewTimeoutError extends InterviewError {}
export class QueueFullError extends InterviewError {}
export const ERROR_CLASSES: Readonly<Record<string, typeof InterviewApiError>>;
export function apiError(
  status: number,
  code: string,
  detail: string,
  extra?: { errors?: Array<Record<string, unknown>>; retryAfter?: number | null }
): InterviewApiError;
export function parseRetryAfter(value: string | null | undefined, now?: number): number | null;

// -- REST -----------------------------------------------------------------------------------------
export interface RetryPolicy {
  /** Retries after the first try, on 429 and 503 answers (default 3). */
  retries: number;
  /** Backoff base; doubled each retry, with jitter (default 500). */
  baseDelayMs: number;
  /** Longest wait; a Retry-After longer than this is not waited for (default 10000). */
  maxDelayMs: number;
}
export const DEFAULT_RETRY: Readonly<RetryPolicy>;
export function retryDelayMs(
  attempt: number,
  error: { retryAfter: number | null },
  policy: RetryPolicy,
  random?: () => number
): number | null;

export interface ClientOptions {
  /** The platform's API key (backends only), sent as X-API-Key. */
  apiKey?: string | null;
  /** The candidate's session token: `Authorization: Bearer` (REST), `?access_token=` (WebSocket). */
  sessionToken?: string | null;
  /** Milliseconds per request (default 30000). */
  timeout?: number;
  retry?: false | Partial<RetryPolicy>;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  /** A WebSocket class: the global one by default (Node 20: pass the "ws" package's). */
  WebSocket?: unknown;
}

export interface FrameOptions {
  /** Capture time in seconds on any clock used consistently within the session. */
  timestamp?: number;
  includeLandmarks?: boolean;
}

export interface CaptureOptions {
  /** JPEG quality 0..1 (default 0.85). */
  quality?: number;
  /** Scale down to at most this width, keeping the aspect ratio. */
  maxWidth?: number;
  canvas?: HTMLCanvasElement | OffscreenCanvas;
}

export type PictureSource = CanvasImageSource;

export class InterviewClient {
  constructor(baseUrl: string, options?: ClientOptions);
  readonly baseUrl: string;
  apiKey: string | null;
  sessionToken: string | null;
  readonly accessToken: string | null;
  startSession(
    candidateId: string,
    options?: { metadata?: Record<string, unknown>; timestamp?: number }
  ): Promise<StartSessionResponse>;
  analyzeFrame(sessionId: string, frame: Frame, options?: number | FrameOptions): Promise<AnalyzeFrameResponse>;
  analyzeFrameFromCanvas(
    sessionId: string,
    source: PictureSource,
    options?: CaptureOptions & FrameOptions
  ): Promise<AnalyzeFrameResponse>;
  endSession(sessionId: string): Promise<EndSessionResponse>;
  health(): Promise<HealthResponse>;
  connect(options?: { maxQueue?: number; timeout?: number }): Promise<InterviewStream>;
  streamVideo(source: StreamSource, options: StreamVideoOptions): FrameStreamer;
}

// -- WebSocket ------------------------------------------------------------------------------------
export class InterviewStream {
  static connect(
    baseUrl: string,
    options?: { timeout?: number; maxQueue?: number; accessToken?: string | null; WebSocket?: unknown }
  ): Promise<InterviewStream>;
  readonly sessionId: string | null;
  readonly closed: boolean;
  readonly inFlight: number;
  readonly queued: number;
  onclose: ((event: { code?: number; reason?: string }) => void) | null;
  start(
    candidateId: string,
    options?: { metadata?: Record<string, unknown>; timestamp?: number }
  ): Promise<StartSessionResponse>;
  resume(sessionId: string): Promise<string>;
  sendFrame(frame: Frame, options?: number | FrameOptions): Promise<AnalyzeFrameResponse>;
  sendCanvas(source: PictureSource, options?: CaptureOptions & { timestamp?: number }): Promise<AnalyzeFrameResponse>;
  end(): Promise<EndSessionResponse>;
  close(): void;
}

// -- the stream helper ----------------------------------------------------------------------------
export type GrabbedFrame = Frame | { frame: string; width?: number; height?: number };
export type StreamSource =
  | HTMLVideoElement
  | HTMLCanvasElement
  | HTMLImageElement
  | MediaStream
  | (() => GrabbedFrame | Promise<GrabbedFrame>);
export type StreamerState =
  | "idle"
  | "connecting"
  | "streaming"
  | "reconnecting"
  | "ending"
  | "ended"
  | "stopped"
  | "failed";

export interface ReconnectPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}
export const DEFAULT_RECONNECT: Readonly<ReconnectPolicy>;

export interface StreamVideoOptions {
  /** Frames per second to offer; a frame due while one is in flight is dropped. */
  fps: number;
  /** Start a new session for this candidate... */
  candidateId?: string;
  metadata?: Record<string, unknown>;
  /** ...or resume this one (e.g. started by your backend, which handed over a session token). */
  sessionId?: string;
  /** JPEG quality 0..1 (default 0.8). */
  quality?: number;
  /** Scale frames down to this width (default 640). */
  maxWidth?: number;
  reconnect?: Partial<ReconnectPolicy>;
  /** Seconds for the frames' timestamps (default: page time, Unix seconds). */
  clock?: () => number;
  onSession?: (started: StartSessionResponse) => void;
  onAnalysis?: (result: AnalyzeFrameResponse) => void;
  onError?: (error: Error) => void;
  onState?: (state: StreamerState) => void;
  onDrop?: (dropped: number) => void;
  onEnded?: (summary: EndSessionResponse) => void;
}

export interface StreamStats {
  ticks: number;
  sent: number;
  analysed: number;
  dropped: number;
  errors: number;
  reconnects: number;
  inFlight: number;
  maxInFlight: number;
}

export class FrameStreamer {
  constructor(client: InterviewClient, source: StreamSource, options: StreamVideoOptions);
  readonly state: StreamerState;
  readonly sessionId: string | null;
  readonly stats: StreamStats;
  readonly lastResult: AnalyzeFrameResponse | null;
  readonly summary: EndSessionResponse | null;
  start(): Promise<string>;
  end(): Promise<EndSessionResponse>;
  stop(): void;
}

// -- frames ---------------------------------------------------------------------------------------
export function encodeFrame(frame: Frame): string;
export function bytesToBase64(data: ArrayBuffer | Uint8Array): string;
export function captureFrame(
  source: PictureSource,
  options?: CaptureOptions
): Promise<{ frame: string; width: number; height: number }>;
export function wsUrl(baseUrl: string, accessToken?: string | null): string;
export function defaultClock(): number;
