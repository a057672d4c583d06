/**
 * The port through which batch scoring hands a file too large for one invocation to a workflow
 * engine that scores its ranges in parallel (AWS Step Functions' Distributed Map; the local
 * stack runs the same state machine in process). docs/batch.md, "Large files".
 */

/** What a fanned-out run starts from: the execution's input. */
export interface FanOutRunInput {
  bucket: string;
  key: string;
  etag: string;
  /** The run's id: names its work folder and its execution. */
  run: string;
  /**
   * Bytes per range when the file fanned out on its estimated duration (smaller than the
   * configured range size, so that each range fits its invocation); 0 or absent: the configured
   * size. The batch function always sets it (the state machine passes it on).
   */
  range_bytes?: number;
}

export interface BatchFanOut {
  /** Files of at least this many bytes fan out (smaller ones when their estimated duration says so). */
  readonly minBytes: number;
  /** Starts the workflow for one file; resolves with the execution's id (an ARN on AWS). */
  start(input: FanOutRunInput): Promise<{ execution: string }>;
}
