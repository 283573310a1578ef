// Compiled (not run) by `npm test`: the declarations in src/index.d.ts describe what users write,
// and every REST operation of the API (Operations, generated from the service's OpenAPI document)
// has a client method answering exactly the operation's type.
import {
  type AnalyzeFrameResponse,
  type AudioFeatures,
  AudioMeter,
  type ClientSignals,
  PageSignals,
  speechProbability,
  type EndSessionResponse,
  EvidenceNotFoundError,
  type Frame,
  FrameStreamer,
  InterviewApiError,
  InterviewClient,
  type Operations,
  type ReviewResponse,
  SessionExpiredError,
  type SessionRecord,
  type StreamerState,
  type Verdict,
  captureFrame,
  encodeBinaryFrame,
} from "@interview-integrity/client";

async function usage(video: HTMLVideoElement, camera: MediaStream): Promise<void> {
  const client = new InterviewClient("http://localhost:8000", { apiKey: "k", retry: { retries: 2 } });
  const started = await client.startSession("c-1", { metadata: { round: 1 }, timestamp: 0 });
  const token: string | undefined = started.session_token;
  const result: AnalyzeFrameResponse = await client.analyzeFrame(started.session_id, new Uint8Array([1]), 0.5);
  const box = result.details.faces[0]?.box;
  const width: number | undefined = box?.width;
  await client.analyzeFrameFromCanvas(started.session_id, video, { quality: 0.8, maxWidth: 640 });
  const ended: EndSessionResponse = await client.endSession(started.session_id);
  const verdict: "CLEAN" | "SUSPICIOUS" | "CHEATING" | "INCONCLUSIVE" = ended.verdict;

  const record: SessionRecord = await client.getRecord(started.session_id);
  const first = record.events?.[0]; // fields with a default are optional in the schema
  let image: Uint8Array | null = null;
  if (first?.id && first.evidence_url) {
    try {
      image = await client.getEvidence(record.session_id, first.id);
    } catch (e) {
      if (!(e instanceof EvidenceNotFoundError)) throw e;
    }
    const reviewed: ReviewResponse = await client.reviewEvent(record.session_id, first.id, "dismissed", {
      note: "a poster on the wall",
    });
    const after: Verdict | null = reviewed.reviewed_verdict;
    void after;
  }
  const html: string = await client.getReport(record.session_id);

  const ws = await client.connect();
  await ws.start("c-2");
  await ws.sendFrame("AAAA", { timestamp: 1, includeLandmarks: true });
  // Binary frames: the image's bytes (a Blob, an ArrayBuffer, a Uint8Array), no base64.
  const jpeg: Blob = new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: "image/jpeg" });
  await ws.sendFrame(jpeg, { timestamp: 1.5, includeLandmarks: true, binary: true });
  await ws.sendFrame(new Uint8Array([0xff, 0xd8, 0xff]), { binary: true });
  // @ts-expect-error a base64 string is not a binary frame
  await ws.sendFrame("AAAA", { binary: true });
  const grabbed = await captureFrame(video, { binary: true, quality: 0.8 });
  const bytes: Uint8Array = grabbed.frame;
  const message: Uint8Array = encodeBinaryFrame(bytes, { timestamp: 2 });
  const text: string = (await captureFrame(video)).frame;
  await ws.sendCanvas(video, { binary: true, timestamp: 3 });
  const either: Frame = bytes;
  await ws.sendFrame(either, { timestamp: 4 }); // a Frame of either kind still goes as JSON
  void [message, text];
  await ws.end();

  const streamer: FrameStreamer = client.streamVideo(camera, {
    fps: 2,
    sessionId: started.session_id,
    binary: true,
    onAnalysis: (r) => r.risk_score,
    onState: (s: StreamerState) => s,
    onError: (e) => {
      if (e instanceof SessionExpiredError) return e.code;
      if (e instanceof InterviewApiError) return e.retryAfter;
      return e.message;
    },
  });
  await streamer.start();
  const maxInFlight: number = streamer.stats.maxInFlight;

  // The page's signals: a meter and the page's listeners, taken from as each frame is sent.
  const meter = await AudioMeter.fromMicrophone({ intervalMs: 100 });
  const page = new PageSignals();
  const level: number | null = meter.level();
  const audio: AudioFeatures | null = meter.take();
  const signals: ClientSignals = page.take();
  await client.analyzeFrame(started.session_id, "AAAA", { timestamp: 5, audio, client: signals });
  await ws.sendFrame("AAAA", { audio: null, client: { visible: false, screens: null } });
  const p: number | null = speechProbability(new Float32Array(1024), 48000, 2048, level);
  const withSignals = client.streamVideo(camera, {
    fps: 2,
    candidateId: "c-3",
    audioMeter: meter,
    pageSignals: () => page.take(),
  });
  client.streamVideo(() => ({ frame: "AAAA", audio: { rms_dbfs: -30, speech_prob: 0.2 } }), { fps: 1, candidateId: "c-4" });
  // @ts-expect-error the features are numbers
  await client.analyzeFrame(started.session_id, "AAAA", { audio: { rms_dbfs: "loud" } });
  withSignals.stop();
  meter.stop();
  page.stop();
  void p;
  await streamer.end();
  void [token, width, verdict, maxInFlight, image, html];
}
void usage;

// Every operation of the document has a method (a new operation is a missing key here)...
const METHODS = {
  "POST /start-session": "startSession",
  "POST /end-session": "endSession",
  "POST /analyze-frame": "analyzeFrame",
  "GET /sessions/{session_id}": "getRecord",
  "GET /sessions/{session_id}/report": "getReport",
  "POST /sessions/{session_id}/events/{event_id}/review": "reviewEvent",
  "GET /sessions/{session_id}/events/{event_id}/evidence": "getEvidence",
  "GET /health": "health",
} as const satisfies { [K in keyof Operations]: keyof InterviewClient };

// ...which resolves to exactly the operation's answer.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Method = typeof METHODS;
type Answer<K extends keyof Method> = InterviewClient[Method[K]] extends (...args: never[]) => Promise<infer R>
  ? R
  : never;
type AnswersMatch = { [K in keyof Method]: Equal<Answer<K>, Operations[K]["answer"]> };
const answersMatch: { [K in keyof Method]: true } = {} as AnswersMatch;
void [METHODS, answersMatch];
