/** Recording and case-record delivery: the public surface the signaling layer wires in. */
export * from './AuditTrail.js';
export * from './trailChain.js';
export { verifyTrailAt, formatReport, type TrailReport } from './verifyTrail.js';
export * from './CaseRecord.js';
export * from './Manifest.js';
export * from './RecordingSession.js';
export * from './Outbox.js';
export * from './recovery.js';
export type { RecordingsLogger } from './logger.js';
export { type FfmpegPaths, DEFAULT_FFMPEG } from './ffmpeg.js';
export { type RestartLimit, DEFAULT_RESTART_LIMIT } from './TrackRecorder.js';
export { type PortRange, DEFAULT_RECORDER_PORTS } from './ports.js';
export type { JournalTrack } from './journal.js';
export * from './sinks/FilesystemSink.js';
export * from './sinks/WebhookSink.js';
export * from './sinks/webhookSignature.js';
export * from './sinks/FhirSink.js';
export * from './sinks/fhir.js';
