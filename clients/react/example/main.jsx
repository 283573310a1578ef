// The example app: <InterviewMonitor apiUrl candidateId />. Query parameters: api (the service
// root; default this page's origin), candidate, token (a session token from your backend) with
// session (its session id), fps, microphone=1 (send the microphone's level with the frames).
import { createRoot } from "react-dom/client";
import { InterviewMonitor } from "../src/index.js";

const params = new URLSearchParams(window.location.search);
const apiUrl = params.get("api") || window.location.origin;

createRoot(document.getElementById("root")).render(
  <InterviewMonitor
    apiUrl={apiUrl}
    candidateId={params.get("candidate") || "react-example"}
    sessionId={params.get("session") || undefined}
    sessionToken={params.get("token") || undefined}
    fps={Number(params.get("fps")) || 2}
    microphone={params.get("microphone") === "1"}
  />
);
