export { InterviewMonitor, RiskGauge } from "./InterviewMonitor.jsx";
