// Compiled (not run) by `npm test`: the declarations in src/index.d.ts describe what users write.
import {
  type AnalyzeFrameResponse,
  type EndSessionResponse,
  FrameStreamer,
  InterviewApiError,
  InterviewClient,
  SessionExpiredError,
  type StreamerState,
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

  const ws = await client.connect();
  await ws.start("c-2");
  await ws.sendFrame("AAAA", { timestamp: 1, includeLandmarks: true });
  await ws.end();

  const streamer: FrameStreamer = client.streamVideo(camera, {
    fps: 2,
    sessionId: started.session_id,
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
  await streamer.end();
  void [token, width, verdict, maxInFlight];
}
void usage;
