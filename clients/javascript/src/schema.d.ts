// Generated from the service's OpenAPI document by tests/clients/contract.py: do not edit.
// Regenerate after a service change: .venv/bin/python -m tests.clients.contract
// Interview Integrity API: the bodies of its REST calls, and the calls (Operations).

export interface AnalyzeFrameRequest {
  session_id: string;
  /** Base64 JPEG or PNG; a data-URL prefix (data:image/jpeg;base64,) is accepted. */
  frame: string;
  /**
   * Capture time in seconds (any clock, used consistently). The session runs on the server's clock;
   * this refines it within a small tolerance (removing network jitter) and is echoed in the answer.
   * Constant, backwards or reset timestamps are counted, not used.
   */
  timestamp?: number | null;
  /**
   * Add the 68 landmarks of each face to details.
   * @default false
   */
  include_landmarks?: boolean;
  /** The page's microphone over the interval since the previous frame: features only. */
  audio?: AudioFeatures | null;
  /** The page's visibility, focus, screens and counters since the previous frame. */
  client?: ClientSignals | null;
}

export interface AnalyzeFrameResponse {
  session_id: string;
  /** Risk at the cheating threshold, backed by a high/critical event. */
  cheating: boolean;
  risk_score: number;
  attention: number;
  gaze: GazeDirection;
  /** Faces in the frame. */
  faces: number;
  /**
   * Objects of the session's latest fresh object result (`details.object_result` says which frame;
   * objects are analysed apart from the frames).
   */
  objects: DetectedObject[];
  /**
   * Events this frame raised (after debounce), then those object results of earlier frames raised
   * since the session's previous answer (each at its own frame's time).
   */
  events: EventType[];
  processing_time_ms: number;
  /** The request's timestamp if given (echoed), else `session_time`. */
  timestamp: number;
  /**
   * When the session booked the frame: the server's clock (Unix seconds), refined by the client's
   * timestamp only within a small tolerance; events and durations run on it.
   */
  session_time: number;
  /** The verdict if the session ended now. */
  verdict: Verdict;
  /** The same events with severity and evidence. */
  event_details: EventDetail[];
  details: FrameDetails;
}

/** The microphone over the interval since the previous frame (computed by the page). */
export interface AudioFeatures {
  /** RMS level, dBFS */
  rms_dbfs: number;
  /** how likely speech was present */
  speech_prob: number;
}

/** One background candidate: where it sits (its anchor box) and how long it has sat still. */
export interface BackgroundTrack {
  id: number;
  kind: "face" | "object";
  label: string;
  /** the box it was first seen at (since it last moved) */
  anchor: Box;
  /** the box it was last seen at */
  box: Box;
  /** session time it was first seen at its anchor */
  since: number;
  last_seen: number;
  /**
   * frames that looked for it since `since`
   * @default 0
   */
  looked?: number;
  /**
   * ...and found it unchanged
   * @default 0
   */
  seen?: number;
  /** session time it was learned as static */
  static_since?: number | null;
  /**
   * in view since the session's first seconds, where it still is
   * @default false
   */
  room?: boolean;
  /**
   * times it left its anchor (re-anchored, learned again)
   * @default 0
   */
  moves?: number;
  /** first of the consecutive frames seen off its anchor */
  off_since?: number | null;
  /**
   * how many frames those are
   * @default 0
   */
  off_frames?: number;
}

/** What the session knows of the candidate's behaviour, returned with every frame. */
export interface BehaviourSnapshot {
  neutral: GazeNeutral;
  /** default, provisional or calibrated */
  calibration: string;
  blink_rate_per_min?: number | null;
  baseline_blink_rate_per_min?: number | null;
  head_jitter_deg_s?: number | null;
  baseline_head_jitter_deg_s?: number | null;
  calibration_quality?: CalibrationQuality | null;
  /** parts of the face too small to analyse this frame (eyes, mouth): width and minimum, px */
  too_small?: Record<string, Record<string, number>>;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Which of the page's signals the session had, in frames: what the report says was watched
 * (a signal never sent is not watched, and says nothing about the session).
 */
export interface BrowserSignalsSeen {
  /** @default 0 */
  frames?: number;
  /**
   * frames with audio features
   * @default 0
   */
  audio?: number;
  /**
   * frames with page signals
   * @default 0
   */
  client?: number;
  /** per page signal (visible, focused, screens, ...): frames it was measured */
  measured?: Record<string, number>;
}

/** How the neutral was found, for the reviewer and the frame's details. */
export interface CalibrationQuality {
  /**
   * frames the neutral was taken from
   * @default 0
   */
  samples?: number;
  /** frames not taken, by reason */
  rejected?: Record<string, number>;
  /**
   * stretches dropped because the gaze wandered too much
   * @default 0
   */
  restarts?: number;
  spread_yaw_deg?: number | null;
  spread_pitch_deg?: number | null;
  spread_h?: number | null;
  /**
   * times the long-run dwell moved the neutral
   * @default 0
   */
  refinements?: number;
  /**
   * the refined neutral's distance from the calibrated one
   * @default 0.0
   */
  shift_deg?: number;
}

/** The page over the interval since the previous frame; null: the page could not measure it. */
export interface ClientSignals {
  /** false: the page was hidden at some time in the interval */
  visible?: boolean | null;
  /** false: the window lost focus at some time in the interval */
  focused?: boolean | null;
  fullscreen?: boolean | null;
  /** screens attached (Window Management API) */
  screens?: number | null;
  /** ms the page was hidden */
  hidden_ms?: number | null;
  blur_count?: number | null;
  paste_count?: number | null;
}

/** The session's clock: server receipt times, client timestamps only within a tolerance of them. */
export interface ClockState {
  offset?: number | null;
  last_client?: number | null;
  last_server?: number | null;
  /**
   * client timestamps not used: backwards, reset (clock restarted), constant, behind (stamped
   * closer than received: a burst) or ahead (further apart than received)
   */
  anomalies?: Record<string, number>;
  /**
   * spans without frames longer than clock.gap_s
   * @default 0
   */
  gaps?: number;
  /**
   * their total length, seconds
   * @default 0.0
   */
  gap_s?: number;
}

/** How much of the session one condition could be judged: seconds observed, unknown, no frames. */
export interface Coverage {
  /** @default 0.0 */
  observed_s?: number;
  /** @default 0.0 */
  unknown_s?: number;
  /** @default 0.0 */
  no_frames_s?: number;
  /** of unknown_s, seconds by the reason the frames gave (a person without a face, ...) */
  unknown_because?: Record<string, number>;
}

export interface DetectedObject {
  label: string;
  confidence: number;
  box: Box;
  /** @default false */
  partial?: boolean;
  /** the event this object supports, if any */
  event?: EventType | null;
}

/**
 * The policy a session is judged under, resolved into numbers (in the start answer, the
 * summary, the record and the report).
 */
export interface EffectivePolicy {
  profile: string;
  stakes: Stakes;
  /** every allowance (Allowance), true or false */
  allowances: Record<string, boolean>;
  /** where it came from, in order: service default, API key, request */
  set_by: string[];
  risk_scale: number;
  suspicious_threshold: number;
  cheating_threshold: number;
  /** per event, by kind ('' for every kind): reported or not raised */
  treatments?: Record<string, Record<string, PolicyTreatment>>;
  /** object labels not counted */
  allowed_labels?: string[];
}

export interface EndSessionRequest {
  session_id: string;
}

export interface EndSessionResponse {
  session_id: string;
  final_risk_score: number;
  verdict: Verdict;
  /** Events raised during the session. */
  total_violations: number;
  duration_seconds: number;
  summary: SessionSummary;
}

export interface ErrorResponse {
  detail: string;
  code: string;
  /** Seconds until a retry may succeed (429, 503). */
  retry_after?: number | null;
}

export interface EventDetail {
  /**
   * stable within the session: ev0001, ev0002, ... in the order raised
   * @default ""
   */
  id?: string;
  type: EventType;
  severity: Severity;
  risk_increase: number;
  timestamp: number;
  risk_after: number;
  evidence?: Record<string, unknown>;
  /**
   * how long the episode has gone on (grows while it does)
   * @default 0.0
   */
  duration_s?: number;
  /**
   * risk added while the episode went on, beyond risk_increase (ongoing_risk_per_min)
   * @default 0.0
   */
  ongoing_risk?: number;
  /** stream time the ongoing risk began */
  ongoing_from?: number | null;
  /** stream time it was last added */
  ongoing_to?: number | null;
  /**
   * The event's evidence image (JPEG of the frame with what made the case drawn on it): GET it with
   * the API key or the session's token. null when none was stored or it is past its retention.
   */
  evidence_url?: string | null;
}

/** An event as it enters the session's timeline. */
export interface EventRecord {
  /**
   * stable within the session: ev0001, ev0002, ... in the order raised
   * @default ""
   */
  id?: string;
  type: EventType;
  severity: Severity;
  risk_increase: number;
  timestamp: number;
  risk_after: number;
  evidence?: Record<string, unknown>;
  /**
   * how long the episode has gone on (grows while it does)
   * @default 0.0
   */
  duration_s?: number;
  /**
   * risk added while the episode went on, beyond risk_increase (ongoing_risk_per_min)
   * @default 0.0
   */
  ongoing_risk?: number;
  /** stream time the ongoing risk began */
  ongoing_from?: number | null;
  /** stream time it was last added */
  ongoing_to?: number | null;
}

export type EventType = "PHONE_DETECTED" | "PHONE_PARTIAL_DETECTED" | "MULTIPLE_FACES" | "EYES_OFF_SCREEN" | "LOOKING_AWAY" | "NO_FACE" | "SUSPICIOUS_OBJECT" | "WHISPERING" | "READING_PATTERN" | "STRESS_HIGH" | "IDENTITY_CHANGED" | "SECOND_VOICE" | "TAB_SWITCH" | "SECOND_SCREEN" | "PASTE";

export interface EyeIris {
  side: "image_left" | "image_right";
  /** iris between the eye corners: 0 image-left corner, 1 image-right */
  h_ratio: number;
  /** iris below (+) or above (-) the corner line, in eye widths */
  v_ratio: number;
  confidence: number;
  /** iris centre in frame pixels */
  center: [number, number];
}

/**
 * The Face Landmarker's eye blendshapes, both eyes averaged (0..1): trained to mean the same on
 * every face, so they carry the vertical gaze, the look aside and blinks on people never seen.
 */
export interface EyeScores {
  down: number;
  up: number;
  /** toward image-left (one eye in, the other out) */
  left: number;
  /** toward image-right */
  right: number;
  /** eyeBlink, both eyes averaged */
  blink: number;
  /** the more closed eye's eyeBlink (a wink shows here) */
  blink_one: number;
  squint: number;
  /**
   * mouthSmile, both sides averaged: a smile narrows the eyes
   * @default 0.0
   */
  smile?: number;
}

/** Independent checks a doubtful face candidate must pass (enough of them) to be counted. */
export type FaceCheck = "landmarks" | "hog" | "short_range";

/** The face detector that found a face (BlazeFace, run with LiteRT; configs/face.yaml picks one). */
export type FaceDetector = "blazeface_full_range" | "blazeface_short_range";

export interface FaceSummary {
  box: Box;
  score: number;
  detector: FaceDetector;
  /** Checks a doubtful candidate passed to be counted (empty: sure). */
  checks?: FaceCheck[];
  landmarks?: Array<[number, number]> | null;
}

export interface FieldError {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

export interface FrameDetails {
  image_width: number;
  image_height: number;
  /** The face detector that ran on this frame. */
  face_detector: FaceDetector;
  faces: FaceSummary[];
  /**
   * Face-like candidates not counted in `faces`: below the sure score and not confirmed by enough
   * checks (a pet, a printed face), or beyond the checks' per-frame budget.
   */
  unverified_face_candidates: number;
  /** Iris, head pose, gaze angles and eye/mouth ratios of the main face. */
  gaze?: GazeAnalysis | null;
  /** The candidate's calibration and blink/jitter rates against their baseline. */
  behaviour?: BehaviourSnapshot | null;
  /** Which analyses ran for this frame, and why not. */
  models: Record<string, ModelStatus>;
  risk_score_exact: number;
  peak_risk_score: number;
  timings_ms: Record<string, number>;
  /** Per condition, the session so far: seconds observed, unknown, without frames. */
  coverage?: Record<string, Coverage>;
  /** The session clock: client timestamps not used (by kind) and gaps without frames. */
  clock?: ClockState | null;
  /**
   * Objects are analysed apart from the frames (sampled about once a second per session, at once on
   * a trigger): which result `objects` shows and what was done with this frame. Null when every
   * frame is analysed whole (sampling off).
   */
  object_result?: ObjectResultInfo | null;
  /** How well the session has been watched for objects so far. */
  object_coverage?: ObjectCoverage | null;
}

export interface GazeAnalysis {
  /** @default true */
  available?: boolean;
  /** @default "unknown" */
  direction?: GazeDirection;
  /** @default 0.0 */
  attention?: number;
  head_pose?: HeadPose | null;
  /** None when the eyes are too small, closed or unclear */
  iris?: IrisReading | null;
  angles?: GazeAngles | null;
  eye_aspect_ratio?: number | null;
  mouth_aspect_ratio?: number | null;
  mouth_width_px?: number | null;
  /** the smaller eye, corner to corner, frame pixels */
  eye_span_px?: number | null;
  /** @default false */
  blink?: boolean;
  lids?: LidReading | null;
  /** eyes against the skin around them: 0 no darker (covered), 1 black */
  eye_darkness?: number | null;
  /** how long the lids have been lowered (session time); None when not lowered */
  lowered_s?: number | null;
  /** the lips' grey level minus the cheeks' (the face stage's measure) */
  mouth_contrast?: number | null;
  /**
   * something as light as skin in front of the mouth (a cup, a hand): eyes cast down at it are not
   * evidence of a look off the screen
   * @default false
   */
  mouth_covered?: boolean;
  /** open eyes large enough to read that show no iris at all (occluded?): gaze unknown */
  unreadable_eyes?: Array<"image_left" | "image_right">;
  /** iris-based gaze beyond the limit; None when the iris could not be judged */
  eyes_off_screen?: boolean | null;
  /** head beyond the yaw/pitch limit from neutral */
  head_turned?: boolean | null;
  /** thresholds applied, in degrees */
  limits?: Record<string, number>;
  neutral?: GazeNeutral | null;
  /** Face Landmarker backend only */
  eye_scores?: EyeScores | null;
  /**
   * pending: the candidate's neutral does not exist yet; directions are reported but raise no gaze
   * event (set by the session)
   */
  calibration?: "pending" | "done" | null;
  /**
   * what the direction was judged from
   * @default "iris+head_pose"
   */
  method?: "iris+head_pose" | "lids+head_pose" | "head_pose" | "blendshapes+head_pose" | "none";
  /** why the gaze is unavailable for this frame */
  failure?: string | null;
  timings_ms?: Record<string, number>;
}

/** Degrees relative to the neutral pose; yaw positive toward image-right, pitch positive up. */
export interface GazeAngles {
  head_yaw: number;
  head_pitch: number;
  /** eye-in-head rotation from the iris; None without iris */
  eye_yaw?: number | null;
  eye_pitch?: number | null;
  /** head + eyes (head only without iris) */
  gaze_yaw: number;
  gaze_pitch: number;
}

/** Directions in the image as displayed: "left" is the image's left edge. */
export type GazeDirection = "center" | "left" | "right" | "up" | "down" | "unknown";

/**
 * The candidate's neutral pose (looking at the screen), from the session's calibration.
 *
 * Gaze decisions are made relative to it, so an off-centre camera does not read as looking away.
 */
export interface GazeNeutral {
  /** @default 0.0 */
  yaw?: number;
  /** @default 0.0 */
  pitch?: number;
  /** @default 0.5 */
  h_ratio?: number;
  /** @default -0.1 */
  v_ratio?: number;
  /** @default 0.28 */
  eye_aspect_ratio?: number;
  /**
   * upper lid above the eye-corner line, eye widths
   * @default 0.22
   */
  upper_lid?: number;
  /**
   * lower lid below the eye-corner line, eye widths
   * @default 0.08
   */
  lower_lid?: number;
  /** eyes against the skin around them, 0..1 */
  eye_darkness?: number | null;
  /** lips against the cheeks (grey levels) */
  mouth_contrast?: number | null;
  /** the Face Landmarker's eyeLookDown at neutral */
  look_down?: number | null;
  /** ...and its eyeLookUp (None: dlib's points) */
  look_up?: number | null;
  /** @default "default" */
  source?: "default" | "provisional" | "calibrated" | "refined";
  /** @default 0 */
  samples?: number;
}

export interface HeadPose {
  /** degrees, positive when the head turns toward image-right */
  yaw: number;
  /** degrees, positive when the head tilts up */
  pitch: number;
  /** degrees, positive when the head tilts clockwise in the image */
  roll: number;
}

export interface HealthResponse {
  /** degraded: an optional model is unavailable. */
  status: "ok" | "degraded";
  service: string;
  uptime_seconds: number;
  active_sessions: number;
  /** True only when every model is loaded. */
  models_loaded: boolean;
  models: Record<string, ModelStatus>;
  /** Whether the session store (memory or Redis) answers; frames get 503 while it does not. */
  session_store?: ModelStatus;
  /** This replica's object analyses, sampled apart from the frames (null: sampling off). */
  objects?: ObjectWatchHealth | null;
  version: string;
}

/** The session's identity watch in figures (answers, summary, record): no descriptor. */
export interface IdentitySummary {
  enrolled: boolean;
  /** stream time the enrolment was complete */
  enrolled_at?: number | null;
  /** usable checks gathered toward the enrolment so far */
  enrol_samples: number;
  /** checks booked (enrolment included) */
  checks: number;
  /** @default 0 */
  same?: number;
  /** @default 0 */
  unsure?: number;
  /** @default 0 */
  different?: number;
  /**
   * checks that found the face unfit to describe (the service checks only fit ones)
   * @default 0
   */
  unusable?: number;
  last_distance?: number | null;
  unsure_below: number;
  unsure_above: number;
}

/** Both eyes' iris positions and their confidence-weighted mean. */
export interface IrisReading {
  h_ratio: number;
  v_ratio: number;
  confidence: number;
  eyes: EyeIris[];
}

/**
 * Where the eyelids are (mean of both eyes), against the candidate's neutral.
 *
 * Looking down, the upper lid follows the eye down while the lower lid stays (or drops a little);
 * in a blink, a wink or a squint the lower lid rises to meet it. A lowered frame alone cannot be
 * told from the first frames of a blink: the session does it by duration (``held_*`` below).
 */
export interface LidReading {
  /** upper lid above the eye-corner line, eye widths */
  upper: number;
  /** lower lid below the eye-corner line, eye widths */
  lower: number;
  /** eye pitch the upper lid's move from neutral implies (negative: lowered) */
  pitch_deg: number;
  /** how far the lower lid rose above its neutral, eye widths */
  lower_raise: number;
  state: LidState;
  /** lowered: the direction once the lowering has lasted longer than a blink */
  held_direction?: GazeDirection | null;
  /** lowered: the eyes-off-screen condition once held longer than a blink */
  held_eyes_off_screen?: boolean | null;
}

/** What the eyelids do in one frame, relative to the candidate's neutral (configs/gaze.yaml). */
export type LidState = "open" | "lowered" | "closed";

export interface ModelAvailability {
  /** ran on every frame of the session */
  available: boolean;
  /** why not, when it did not */
  detail?: string | null;
}

/** Whether a model is loaded, and if not, why: the service never pretends it looked. */
export interface ModelStatus {
  available: boolean;
  detail?: string | null;
  /** the weights file in use */
  file?: string | null;
  /** checksum of that file */
  sha256?: string | null;
  /** what runs it: dlib, litert, onnxruntime, ... */
  runtime?: string | null;
}

/** The session's object watch so far, in figures. */
export interface ObjectCoverage {
  /** share of session time covered by a fresh object result (None: no session time yet) */
  share: number | null;
  /** seconds of session time covered by a fresh object result */
  covered_s: number;
  /** seconds of session time so far (first to last frame) */
  session_s: number;
  /** object analyses booked */
  analyses: number;
  /** of them, frames the object model could not analyse */
  unavailable: number;
  /** frames whose due object analysis was dropped under load */
  shed: number;
  /** mean time between booked analyses */
  mean_interval_s: number | null;
  /** how long one result covers the session after its frame */
  fresh_s: number;
  /** stream time of the latest analysed frame */
  last_result_at: number | null;
}

export interface ObjectResultInfo {
  /**
   * Session time of the frame `objects` come from: this frame's own where none was fresh before it
   * (a first frame waits a moment for its analysis); null: no fresh result yet.
   */
  frame_time: number | null;
  /** How long before this frame that frame arrived, seconds (null: no fresh result). */
  age_s: number | null;
  /**
   * analysing: this frame's analysis runs apart and is booked at its time when done; shed: it was
   * due but dropped under load; not_due: the session was analysed recently; unavailable: no object
   * model.
   */
  this_frame: "analysing" | "shed" | "not_due" | "unavailable";
  /** Why this frame was analysed sooner than the interval, if so. */
  triggers?: string[];
}

export interface ObjectWatchHealth {
  /** The figures are over this much recent time. */
  window_s: number;
  /** Configured: at most one sampled analysis per session per this. */
  interval_s: number;
  /** Sessions with frames in the window (on this replica). */
  sessions: number;
  /** Mean share of those sessions' time covered by a fresh object result. */
  coverage: number | null;
  analyses_per_s: number;
  /** Due analyses dropped under load (frames went through). */
  shed_per_s: number;
  /** Analyses started early on a trigger (a look down, ...). */
  triggered_per_s: number;
  in_flight: number;
  max_inflight: number;
}

/**
 * An interview's policy as a caller asks for it: a profile, and stakes or allowances over it.
 * Unknown keys are errors (a misspelt allowance must not silently leave the default).
 */
export interface PolicyRequest {
  /** a profile of configs/policy.yaml */
  profile?: string | null;
  /** low, standard or high: event weights and thresholds */
  stakes?: Stakes | null;
  /** looking down at paper notes, reading them */
  notes_allowed?: boolean | null;
  /** books in view and read */
  open_book?: boolean | null;
  /** a second monitor or laptop in use */
  second_screen_allowed?: boolean | null;
  /** a phone in view (reported, no risk) */
  phone_allowed?: boolean | null;
  /** other faces in view (reported, no risk) */
  others_present_allowed?: boolean | null;
}

/** An interview policy's treatment of an event (of one kind, or of all: ``kind`` None). */
export interface PolicyTreatment {
  treatment: Treatment;
  /** the allowance that asks for it (said in the event's evidence) */
  because: string;
}

export interface RecordedEvent {
  /**
   * stable within the session: ev0001, ev0002, ... in the order raised
   * @default ""
   */
  id?: string;
  type: EventType;
  severity: Severity;
  risk_increase: number;
  timestamp: number;
  risk_after: number;
  evidence?: Record<string, unknown>;
  /**
   * how long the episode has gone on (grows while it does)
   * @default 0.0
   */
  duration_s?: number;
  /**
   * risk added while the episode went on, beyond risk_increase (ongoing_risk_per_min)
   * @default 0.0
   */
  ongoing_risk?: number;
  /** stream time the ongoing risk began */
  ongoing_from?: number | null;
  /** stream time it was last added */
  ongoing_to?: number | null;
  /**
   * The event's evidence image (JPEG of the frame with what made the case drawn on it): GET it with
   * the API key or the session's token. null when none was stored or it is past its retention.
   */
  evidence_url?: string | null;
  /** The latest reviewer decision, if any. */
  review?: Review | null;
}

/** A reviewer's decision on one event (the latest one counts). */
export interface Review {
  event_id: string;
  decision: "confirmed" | "dismissed";
  note?: string | null;
  /** who decided: a short hash of the API key, or 'open' */
  reviewer: string;
  /** server time of the decision (Unix seconds) */
  at: number;
}

export interface ReviewRequest {
  /** confirmed: the event stands; dismissed: it is set aside. */
  decision: "confirmed" | "dismissed";
  note?: string | null;
}

export interface ReviewResponse {
  session_id: string;
  event_id: string;
  review: Review;
  /** The automatic verdict (unchanged by reviews). */
  verdict: Verdict;
  /** The verdict without the dismissed events. */
  reviewed_verdict: Verdict | null;
  reviewed_verdict_reason: string | null;
}

export interface RiskPoint {
  /** stream time (seconds) */
  t: number;
  /** risk score 0-100 at that time */
  risk: number;
}

export interface SessionRecordResponse {
  session_id: string;
  /** active (still open), ended, or expired (idle too long) */
  status: "active" | "ended" | "expired";
  candidate_id: string;
  metadata?: Record<string, unknown>;
  /** server time of the start (Unix seconds) */
  started_at: number;
  /** server time of the end or expiry */
  ended_at?: number | null;
  /** stream time of the start (timeline origin) */
  stream_start?: number | null;
  /** stream time of the last frame */
  stream_end?: number | null;
  duration_seconds: number;
  frames_analyzed: number;
  /** the automatic verdict */
  verdict: Verdict;
  verdict_reason: string;
  final_risk_score: number;
  peak_risk_score: number;
  peak_at?: number | null;
  average_attention?: number | null;
  event_counts?: Record<string, number>;
  /** The events in the order raised (the first 1000), each with its id, evidence URL and review. */
  events?: RecordedEvent[];
  /** @default 0 */
  events_truncated?: number;
  risk_timeline?: RiskPoint[];
  models?: Record<string, ModelAvailability>;
  /** event id -> latest decision */
  reviews?: Record<string, Review>;
  /** the verdict without the dismissed events; null until an event is reviewed */
  reviewed_verdict?: Verdict | null;
  reviewed_verdict_reason?: string | null;
  reviewed_peak_risk_score?: number | null;
  rules: VerdictRules;
  behaviour?: BehaviourSnapshot | null;
  /** how well the session was watched for objects (object analyses are sampled) */
  objects?: ObjectCoverage | null;
  /** the interview's rules it was judged under */
  policy?: EffectivePolicy | null;
  /** the identity watch (no descriptor) */
  identity?: IdentitySummary | null;
  /** which of the page's signals were sent */
  browser?: BrowserSignalsSeen | null;
  /** server time after which the record is deleted */
  kept_until?: number | null;
}

export interface SessionSummary {
  candidate_id: string;
  metadata: Record<string, unknown>;
  started_at: number;
  ended_at: number;
  frames_analyzed: number;
  event_counts: Record<string, number>;
  peak_risk_score: number;
  peak_at: number | null;
  final_risk_score: number;
  verdict_reason: string;
  average_attention: number | null;
  timeline: EventRecord[];
  /** @default 0 */
  timeline_truncated?: number;
  models_unavailable?: Record<string, string>;
  /** calibration and baseline at the end */
  behaviour?: BehaviourSnapshot | null;
  /** per condition: seconds observed, unknown, without frames */
  coverage?: Record<string, Coverage>;
  verdict_basis?: VerdictBasis | null;
  /** client timestamp anomalies and gaps */
  clock?: ClockState | null;
  /** faces and objects learned as static background (not counted) */
  static_background?: BackgroundTrack[];
  /** how well the session was watched for objects (object analyses are sampled) */
  objects?: ObjectCoverage | null;
  /** the interview's rules it was judged under */
  policy?: EffectivePolicy | null;
  /** the identity watch (no descriptor) */
  identity?: IdentitySummary | null;
  /** which of the page's signals were sent */
  browser?: BrowserSignalsSeen | null;
}

export type Severity = "low" | "medium" | "high" | "critical";

export type Stakes = "low" | "standard" | "high";

export interface StartSessionRequest {
  candidate_id: string;
  /** null is the same as {}. */
  metadata?: Record<string, unknown> | null;
  /** Client clock (seconds) at the start; frames are timed against the same clock. */
  timestamp?: number | null;
  /**
   * The interview's rules: a profile, stakes, allowances (unknown keys: 422). Absent: the API key's
   * default profile, else the service's.
   */
  policy?: PolicyRequest | null;
}

export interface StartSessionResponse {
  session_id: string;
  message: string;
  /** Server time (Unix seconds). */
  timestamp: number;
  /**
   * Hand this to the candidate's browser: it may send frames for this session only (Authorization:
   * Bearer <token>, or ?access_token= on the WebSocket), never start, end or read.
   */
  session_token: string;
  /** The rules the session is judged under, resolved (in the summary and record too). */
  policy?: EffectivePolicy | null;
}

/** How an interview's policy has the risk engine treat an event (configs/policy.yaml). */
export type Treatment = "count" | "report" | "off";

export interface ValidationErrorResponse {
  /** The first problem, in words. */
  detail: string;
  code: string;
  errors: FieldError[];
}

export type Verdict = "CLEAN" | "SUSPICIOUS" | "CHEATING" | "INCONCLUSIVE";

/** How the verdict was reached: the numbers and the events that counted (summary, docs/API.md). */
export interface VerdictBasis {
  verdict: Verdict;
  reason: string;
  /** peak or final: which risk the thresholds are held against */
  basis: string;
  score: number;
  suspicious_threshold: number;
  cheating_threshold: number;
  /** what backs CHEATING: a critical episode held long enough, or two causes */
  corroboration?: string | null;
  /** ids of events that carried risk */
  counted_events?: string[];
  /** share of the session the face could be judged */
  observed_share?: number | null;
  min_observed_share: number;
}

/** The thresholds the verdicts were judged against (configs/risk_engine.yaml). */
export interface VerdictRules {
  basis: "peak" | "final";
  suspicious_threshold: number;
  cheating_threshold: number;
  cheating_min_severity: Severity;
}

/** Every REST operation: path parameters, JSON request body, success answer (JSON, text or
 * bytes, by its media type) and the bodies of its refusals. */
export interface Operations {
  "POST /start-session": {
    params: {};
    body: StartSessionRequest;
    media: "application/json";
    answer: StartSessionResponse;
    refusal: ErrorResponse | ValidationErrorResponse;
  };
  "POST /end-session": {
    params: {};
    body: EndSessionRequest;
    media: "application/json";
    answer: EndSessionResponse;
    refusal: ErrorResponse | ValidationErrorResponse;
  };
  "POST /analyze-frame": {
    params: {};
    body: AnalyzeFrameRequest;
    media: "application/json";
    answer: AnalyzeFrameResponse;
    refusal: ErrorResponse | ValidationErrorResponse;
  };
  "GET /sessions/{session_id}": {
    params: { session_id: string };
    body: never;
    media: "application/json";
    answer: SessionRecordResponse;
    refusal: ErrorResponse | ValidationErrorResponse;
  };
  "GET /sessions/{session_id}/report": {
    params: { session_id: string };
    body: never;
    media: "text/html";
    answer: string;
    refusal: ErrorResponse | ValidationErrorResponse;
  };
  "POST /sessions/{session_id}/events/{event_id}/review": {
    params: { session_id: string; event_id: string };
    body: ReviewRequest;
    media: "application/json";
    answer: ReviewResponse;
    refusal: ErrorResponse | ValidationErrorResponse;
  };
  "GET /sessions/{session_id}/events/{event_id}/evidence": {
    params: { session_id: string; event_id: string };
    body: never;
    media: "image/jpeg";
    answer: Uint8Array;
    refusal: ErrorResponse | ValidationErrorResponse;
  };
  "GET /health": {
    params: {};
    body: never;
    media: "application/json";
    answer: HealthResponse;
    refusal: never;
  };
}
