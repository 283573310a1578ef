// @interview-integrity/client: the Interview Integrity API from browsers and Node (ES module).
export { InterviewClient, DEFAULT_RETRY, retryDelayMs } from "./client.js";
export { InterviewStream } from "./stream.js";
export { FrameStreamer, DEFAULT_RECONNECT } from "./streamer.js";
export { captureFrame, encodeFrame, encodeBinaryFrame, bytesToBase64 } from "./frames.js";
export { wsUrl, defaultClock } from "./util.js";
export {
  AudioMeter,
  PageSignals,
  SILENCE_DBFS,
  SPEECH_BAND,
  powerToDbfs,
  rmsDbfs,
  smoothSpeech,
  speechProbability,
  takeSignals,
} from "./signals.js";
export * from "./errors.js";
