import type { Datatype } from '../types.ts';
import { toFloat16Bits } from './float16.ts';

/** Storage of one decoded tensor, as onnxruntime-node takes it for the datatype. */
export type TensorStorage =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** Converts JSON values of one datatype into preallocated storage, one tight loop per datatype. */
export interface ElementCodec<T extends TensorStorage = TensorStorage> {
  /** What a valid element is, for error messages: "an integer in [0, 255] for UINT8". */
  readonly expected: string;
  allocate(length: number): T;
  /**
   * Writes `values` into `target` from `offset`. Returns the index in `values` of the first
   * invalid element, or -1 when all were written.
   */
  fill(values: readonly unknown[], target: T, offset: number): number;
}

type NumberArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

function floatCodec<T extends Float32Array | Float64Array>(
  datatype: Datatype,
  create: (length: number) => T,
): ElementCodec<T> {
  return {
    expected: `a finite number for ${datatype}`,
    allocate: create,
    fill(values, target, offset) {
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'number' || !Number.isFinite(value)) return i;
        target[offset + i] = value;
      }
      return -1;
    },
  };
}

const float16Codec: ElementCodec<Uint16Array> = {
  expected: 'a finite number for FP16',
  allocate: (length) => new Uint16Array(length),
  fill(values, target, offset) {
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value !== 'number' || !Number.isFinite(value)) return i;
      target[offset + i] = toFloat16Bits(value);
    }
    return -1;
  },
};

function integerCodec<T extends NumberArray>(
  datatype: Datatype,
  create: (length: number) => T,
  min: number,
  max: number,
): ElementCodec<T> {
  return {
    expected: `an integer in [${min}, ${max}] for ${datatype}`,
    allocate: create,
    fill(values, target, offset) {
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return i;
        target[offset + i] = value;
      }
      return -1;
    },
  };
}

const DECIMAL = /^-?[0-9]{1,40}$/;

function bigIntegerCodec<T extends BigInt64Array | BigUint64Array>(
  datatype: Datatype,
  create: (length: number) => T,
  min: bigint,
  max: bigint,
): ElementCodec<T> {
  const toBigInt = (value: unknown): bigint | undefined => {
    let result: bigint;
    if (typeof value === 'number') {
      // Beyond 2^53 a JSON number may already have been rounded by the parser: demand a string.
      if (!Number.isSafeInteger(value)) return undefined;
      result = BigInt(value);
    } else if (typeof value === 'string' && DECIMAL.test(value)) {
      result = BigInt(value);
    } else if (typeof value === 'bigint') {
      result = value;
    } else {
      return undefined;
    }
    return result >= min && result <= max ? result : undefined;
  };
  return {
    expected: `an integer in [${min}, ${max}] for ${datatype} (a JSON number within ±(2^53-1), or a decimal string)`,
    allocate: create,
    fill(values, target, offset) {
      for (let i = 0; i < values.length; i++) {
        const value = toBigInt(values[i]);
        if (value === undefined) return i;
        target[offset + i] = value;
      }
      return -1;
    },
  };
}

const boolCodec: ElementCodec<Uint8Array> = {
  expected: 'true or false for BOOL',
  allocate: (length) => new Uint8Array(length),
  fill(values, target, offset) {
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === true) target[offset + i] = 1;
      else if (value !== false) return i;
    }
    return -1;
  },
};

// onnxruntime-node hands strings to the runtime as NUL-terminated UTF-8: a NUL would cut the
// string short and an unpaired surrogate would turn into U+FFFD, both silently.
const ALTERED_BY_RUNTIME = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const bytesCodec: ElementCodec<string[]> = {
  expected: 'a string without NUL characters or unpaired surrogates for BYTES',
  allocate: (length) => new Array<string>(length),
  fill(values, target, offset) {
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value !== 'string' || ALTERED_BY_RUNTIME.test(value)) return i;
      target[offset + i] = value;
    }
    return -1;
  },
};

/** The element codec of every protocol datatype. */
export const ELEMENT_CODECS: Readonly<Record<Datatype, ElementCodec>> = {
  BOOL: boolCodec,
  UINT8: integerCodec('UINT8', (n) => new Uint8Array(n), 0, 255),
  UINT16: integerCodec('UINT16', (n) => new Uint16Array(n), 0, 65535),
  UINT32: integerCodec('UINT32', (n) => new Uint32Array(n), 0, 4294967295),
  UINT64: bigIntegerCodec('UINT64', (n) => new BigUint64Array(n), 0n, 2n ** 64n - 1n),
  INT8: integerCodec('INT8', (n) => new Int8Array(n), -128, 127),
  INT16: integerCodec('INT16', (n) => new Int16Array(n), -32768, 32767),
  INT32: integerCodec('INT32', (n) => new Int32Array(n), -2147483648, 2147483647),
  INT64: bigIntegerCodec('INT64', (n) => new BigInt64Array(n), -(2n ** 63n), 2n ** 63n - 1n),
  FP16: float16Codec,
  FP32: floatCodec('FP32', (n) => new Float32Array(n)),
  FP64: floatCodec('FP64', (n) => new Float64Array(n)),
  BYTES: bytesCodec,
};
