import type {
  AnalyzeFrameResponse,
  EndSessionResponse,
  StartSessionResponse,
  StreamerState,
} from "@interview-integrity/client";
import type { CSSProperties, JSX } from "react";

export interface InterviewMonitorProps {
  /** The service root, e.g. "https://integrity.example.com". */
  apiUrl: string;
  /** Start a new session for this candidate (needs no token on an open service, else an API key)... */
  candidateId?: string;
  /** ...or stream into a session your backend started and handed over with its token. */
  sessionId?: string;
  sessionToken?: string;
  apiKey?: string;
  metadata?: Record<string, unknown>;
  /** Frames per second offered (default 2); one frame in flight at most. */
  fps?: number;
  /** Frames are scaled down to this width (default 640). */
  maxWidth?: number;
  /** Ask for the camera and start streaming on mount (default true). */
  autoStart?: boolean;
  /** Show the "End interview" button (default true). */
  showEndButton?: boolean;
  /**
   * Ask for the microphone and send its level and speech likelihood with each frame (two numbers,
   * never the sound); shows "microphone: on" and a level meter. Followed while streaming. Default false.
   */
  microphone?: boolean;
  /** Send the page's visibility, focus, fullscreen, screens and paste counts with each frame (default true). */
  pageSignals?: boolean;
  onSession?: (started: StartSessionResponse) => void;
  onAnalysis?: (result: AnalyzeFrameResponse) => void;
  onEnded?: (summary: EndSessionResponse) => void;
  onError?: (error: Error) => void;
  onState?: (state: StreamerState | "camera") => void;
  className?: string;
  style?: CSSProperties;
}

export function InterviewMonitor(props: InterviewMonitorProps): JSX.Element;
export function RiskGauge(props: { value: number; size?: number }): JSX.Element;
