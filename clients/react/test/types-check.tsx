// Compiled (not run) by `npm test`: src/index.d.ts describes the component as users write it.
import { InterviewMonitor, RiskGauge } from "@interview-integrity/react";
import type { EndSessionResponse } from "@interview-integrity/client";

export function Page({ token }: { token?: string }) {
  return (
    <>
      <InterviewMonitor apiUrl="http://localhost:8000" candidateId="c-1" />
      <InterviewMonitor
        apiUrl="http://localhost:8000"
        sessionId="s-1"
        sessionToken={token}
        fps={4}
        autoStart={false}
        onEnded={(summary: EndSessionResponse) => summary.verdict}
        onAnalysis={(r) => r.details.faces.length}
        onState={(state) => state}
        microphone
        pageSignals={false}
      />
      <RiskGauge value={42} size={120} />
    </>
  );
}
