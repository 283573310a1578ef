// Type declarations of @interview-integrity/client (the API: docs/API.md).

// The API's bodies are generated from the service's OpenAPI document (schema.d.ts: every schema,
// enum and field, and every REST operation); the tests regenerate it and fail when it is not current.
export type * from "./schema.js";
import type {
  AnalyzeFrameResponse,
  AudioFeatures,
  ClientSignals,
  EndSessionResponse,
  FaceSummary,
  GazeDirection,
  HealthResponse,
  PolicyRequest,
  ReviewRequest,
  ReviewResponse,
  SessionRecordResponse,
  StartSessionResponse,
} from "./schema.js";

/** A counted face of a frame's details (the schema's FaceSummary). */
export type FaceDetail = FaceSummary;
/** In the image as displayed: "left" is toward the image's left edge (the candidate's right). */
export type Gaze = GazeDirection;
/** A session's record, as GET /sessions/{id} answers it (the schema's SessionRecordResponse). */
export type SessionRecord = SessionRecordResponse;
/** A reviewer's decision on an event. */
export type ReviewDecision = ReviewRequest["decision"];
/** base64 JPEG/PNG (a data URL is fine) or raw bytes, base64-encoded for you. */
export type Frame = string | ArrayBuffer | ArrayBufferView;
/** The JPEG/PNG bytes of a binary WebSocket frame (no base64). */
export type BinaryFrame = Blob | ArrayBuffer | ArrayBufferView;

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
export class InvalidPolicyError extends InterviewApiError {}
export class UnauthorizedError extends InterviewApiError {}
export class ForbiddenError extends InterviewApiError {}
export class SessionNotFoundError extends InterviewApiError {}
export class EventNotFoundError extends InterviewApiError {}
export class EvidenceNotFoundError extends InterviewApiError {}
export class SessionEndedError extends InterviewApiError {}
export class SessionExpiredError extends InterviewApiError {}
export class FrameTooLargeError extends InterviewApiError {}
export class ValidationError extends InterviewApiError {}
export class TooManySessionsError extends InterviewApiError {}
export class RateLimitedError extends InterviewApiError {}
export class AnalysisFailedError extends InterviewApiError {}
export class ModelUnavailableError extends AnalysisFailedError {}
export class SessionStoreUnavailableError extends InterviewApiError {}
export class OverloadedError extends InterviewApiError {}
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
  /** The microphone's features over the interval since the previous frame (AudioMeter.take()). */
  audio?: AudioFeatures | null;
  /** The page's signals over the interval since the previous frame (PageSignals.take()). */
  client?: ClientSignals | null;
}

// -- the page's signals ---------------------------------------------------------------------------
/** Something to take a frame's features from: an AudioMeter / PageSignals, or a function. */
export type SignalSource<T> = { take(): T | null } | (() => T | null);

export interface SpeechOptions {
  /** The speech band in Hz (default [300, 3400]). */
  band?: readonly number[];
  /** At or below this level, no speech (default -70 dBFS). */
  gateDbfs?: number;
  /** From this level the level gate is fully open (default -50 dBFS). */
  fullDbfs?: number;
  /** The band's share of the energy that maps to 0 (default 0.5)... */
  minBandShare?: number;
  /** ...and to 1 (default 0.9). */
  maxBandShare?: number;
}

export interface AudioMeterOptions extends Omit<SpeechOptions, "minBandShare" | "maxBandShare"> {
  /** How often the analyser is read between takes, ms (default 50). */
  intervalMs?: number;
  /** The analyser's FFT size (default 2048). */
  fftSize?: number;
  AudioContext?: typeof AudioContext;
  /** Stop the stream's tracks on stop() (fromMicrophone's own stream: true). */
  stopTracks?: boolean;
}

/** The microphone's level and speech likelihood through an AnalyserNode; nothing played or sent. */
export class AudioMeter {
  constructor(stream: MediaStream, options?: AudioMeterOptions);
  /** getUserMedia({audio}) (no automatic gain control) and a meter on it; stop() releases it. */
  static fromMicrophone(options?: AudioMeterOptions & { constraints?: MediaTrackConstraints }): Promise<AudioMeter>;
  readonly stream: MediaStream;
  readonly context: AudioContext;
  readonly analyser: AnalyserNode;
  readonly stopped: boolean;
  /** Whether readings are real: the context runs and a live, unmuted audio track feeds it. */
  readonly running: boolean;
  /** The level now, dBFS; null while it cannot be measured. */
  level(): number | null;
  /** The features since the previous take (null: nothing measured in it); starts a new interval. */
  take(): AudioFeatures | null;
  stop(): void;
}

/** Visibility, focus, fullscreen, screens and paste, per interval between takes. */
export class PageSignals {
  constructor(options?: { window?: Window; document?: Document; now?: () => number });
  readonly stopped: boolean;
  /** Whether the page is in fullscreen now; null without the Fullscreen API. */
  readonly fullscreen: boolean | null;
  /** The signals since the previous take; resets the counters. */
  take(): {
    visible: boolean | null;
    focused: boolean | null;
    fullscreen: boolean | null;
    screens: number | null;
    hidden_ms: number | null;
    blur_count: number;
    paste_count: number;
  };
  /** Remove the listeners. */
  stop(): void;
}

export const SPEECH_BAND: readonly [number, number];
export const SILENCE_DBFS: number;
/** RMS level of samples in [-1, 1], dBFS clamped to [-120, 0]; null for no samples. */
export function rmsDbfs(samples: ArrayLike<number>): number | null;
/** dBFS of a mean square amplitude, clamped to [-120, 0]. */
export function powerToDbfs(meanSquare: number): number;
/** 0..1: the speech band's share of the spectrum (dB per bin) times a level gate; null: level unknown. */
export function speechProbability(
  frequencyBins: ArrayLike<number>,
  sampleRate: number,
  fftSize: number,
  level: number | null,
  options?: SpeechOptions
): number | null;
/** One smoothing step: quick to rise, slower to fall. */
export function smoothSpeech(previous: number | null, current: number | null, attack?: number, release?: number): number | null;
/** An AudioMeter's / PageSignals' take(), or a function's result; null when there is none. */
export function takeSignals<T>(from: SignalSource<T> | null | undefined): T | null;

export interface StreamFrameOptions extends FrameOptions {
  /**
   * Send the image's own bytes as a binary WebSocket message (no base64: a third smaller, no
   * encoding or decoding) instead of JSON; the frame must be bytes or a Blob. Default false.
   */
  binary?: boolean;
}

export interface CaptureOptions {
  /** JPEG quality 0..1 (default 0.85). */
  quality?: number;
  /** Scale down to at most this width, keeping the aspect ratio. */
  maxWidth?: number;
  canvas?: HTMLCanvasElement | OffscreenCanvas;
  /** The JPEG's bytes (a Uint8Array) instead of base64. */
  binary?: boolean;
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
    options?: { metadata?: Record<string, unknown>; timestamp?: number; policy?: PolicyRequest }
  ): Promise<StartSessionResponse>;
  analyzeFrame(sessionId: string, frame: Frame, options?: number | FrameOptions): Promise<AnalyzeFrameResponse>;
  analyzeFrameFromCanvas(
    sessionId: string,
    source: PictureSource,
    options?: Omit<CaptureOptions, "binary"> & FrameOptions
  ): Promise<AnalyzeFrameResponse>;
  endSession(sessionId: string): Promise<EndSessionResponse>;
  /** The session's record: verdicts (automatic and reviewed), events with evidence URLs and reviews. */
  getRecord(sessionId: string): Promise<SessionRecordResponse>;
  /** An event's evidence image: JPEG bytes (`new Blob([bytes], { type: "image/jpeg" })` to show it). */
  getEvidence(sessionId: string, eventId: string): Promise<Uint8Array>;
  /** Confirm or dismiss an event; resolves to the automatic and the reviewed verdict. */
  reviewEvent(
    sessionId: string,
    eventId: string,
    decision: ReviewDecision,
    options?: { note?: string }
  ): Promise<ReviewResponse>;
  /** The session's report: one self-contained HTML page. */
  getReport(sessionId: string): Promise<string>;
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
    options?: { metadata?: Record<string, unknown>; timestamp?: number; policy?: PolicyRequest }
  ): Promise<StartSessionResponse>;
  resume(sessionId: string): Promise<string>;
  /** Bytes or a Blob: JSON with the frame in base64, or with `binary: true` the bytes themselves... */
  sendFrame(frame: BinaryFrame, options?: number | StreamFrameOptions): Promise<AnalyzeFrameResponse>;
  /** ...a base64 string (or data URL): JSON only. */
  sendFrame(frame: Frame | Blob, options?: number | (FrameOptions & { binary?: false })): Promise<AnalyzeFrameResponse>;
  sendCanvas(
    source: PictureSource,
    options?: CaptureOptions & Pick<FrameOptions, "timestamp" | "audio" | "client">
  ): Promise<AnalyzeFrameResponse>;
  end(): Promise<EndSessionResponse>;
  close(): void;
}

// -- the stream helper ----------------------------------------------------------------------------
export type GrabbedFrame =
  | Frame
  | Blob
  | {
      frame: string | Uint8Array;
      width?: number;
      height?: number;
      /** This frame's features (instead of taking from the streamer's audioMeter). */
      audio?: AudioFeatures | null;
      /** This frame's page signals (instead of taking from the streamer's pageSignals). */
      client?: ClientSignals | null;
    };
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
  /**
   * Send each JPEG as a binary WebSocket message of its bytes (no base64) instead of JSON
   * (default false; needs a service that takes binary frames). A source function's base64
   * strings still go as JSON.
   */
  binary?: boolean;
  /** Taken from as each frame is sent: its `audio` (the interval since the previous frame sent). */
  audioMeter?: SignalSource<AudioFeatures> | null;
  /** Taken from as each frame is sent: its `client` (the interval since the previous frame sent). */
  pageSignals?: SignalSource<ClientSignals> | null;
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
/**
 * A binary WebSocket frame message: the image's bytes as they are without timestamp, landmarks,
 * audio and client, else "IFR1", the JSON header's length (2 bytes, big-endian), the header, the image.
 */
export function encodeBinaryFrame(image: ArrayBuffer | ArrayBufferView, options?: FrameOptions): Uint8Array;
export function bytesToBase64(data: ArrayBuffer | Uint8Array): string;
export function captureFrame(
  source: PictureSource,
  options: CaptureOptions & { binary: true }
): Promise<{ frame: Uint8Array; width: number; height: number }>;
export function captureFrame(
  source: PictureSource,
  options?: CaptureOptions & { binary?: false }
): Promise<{ frame: string; width: number; height: number }>;
export function wsUrl(baseUrl: string, accessToken?: string | null): string;
export function defaultClock(): number;
