/** Messages between a model's process (`sandbox-child.ts`) and its parent (`sandbox.ts`). */
import type { InferenceSession, Tensor } from 'onnxruntime-node';

/** A tensor as it crosses the IPC channel (structured clone keeps typed arrays). */
export interface WireTensor {
  type: Tensor.Type;
  data: Tensor.DataType;
  dims: readonly number[];
}

export type ParentMessage =
  | {
      type: 'load';
      /**
       * The model's bytes; or `modelFile`, a file holding them that the process reads; or `path`
       * to its file inside a private copy of its version folder, loaded by path.
       */
      model?: Uint8Array;
      modelFile?: string;
      path?: string;
      /** External data files by the location the model names, when loading from bytes. */
      externalData?: { path: string; data: Uint8Array }[];
      options: InferenceSession.SessionOptions;
    }
  | {
      type: 'run';
      id: number;
      feeds: Record<string, WireTensor>;
      fetches?: string[];
      runOptions?: InferenceSession.RunOptions;
      /** Outputs over this many bytes in total are refused instead of sent. */
      maxOutputBytes: number;
    };

export type ChildMessage =
  | {
      type: 'loaded';
      inputNames: string[];
      outputNames: string[];
      inputMetadata: InferenceSession.ValueMetadata[];
      outputMetadata: InferenceSession.ValueMetadata[];
    }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'error'; id: number; kind: 'runtime' | 'memory'; message: string }
  | {
      type: 'too-large';
      id: number;
      outputs: { name: string; bytes: number; dims: number[] }[];
      total: number;
    };
