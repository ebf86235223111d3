export interface Video {
  id: string;
  title: string;
  source: string;
}

/** Durations the workflow receives as arguments, so a replay after a restart sees the same ones. */
export interface PipelineSettings {
  /** How long an approved video waits before it is released (a durable sleep). */
  releaseDelay: string;
  /** How long the pipeline waits for a reviewer's decision. */
  approvalTimeout: string;
}

export interface Probe {
  durationSeconds: number;
  height: number;
}

export interface Rendition {
  format: string;
  url: string;
  megabytes: number;
}

/** The payload of the 'approval' signal. */
export interface Approval {
  approved: boolean;
  reviewer: string;
  note?: string;
}

export interface Publication {
  videoId: string;
  url: string;
  formats: string[];
  thumbnail: string;
  approvedBy: string;
}

export interface NotPublished {
  videoId: string;
  reason: string;
  reviewer: string;
  discarded: string[];
}

export type PipelineStage = 'probing' | 'transcoding' | 'awaiting approval' | 'waiting for release' | 'publishing' | 'published' | 'discarding' | 'discarded';
