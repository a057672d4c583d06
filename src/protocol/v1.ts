/**
 * The v1 protocol (KServe v1, TensorFlow Serving's REST "predict"): `instances` (row format) or
 * `inputs` (columnar format) in, `predictions` or `outputs` back. Requests are translated into
 * Open Inference Protocol requests and answered by the same inference service, so that they are
 * validated, captured and measured exactly like v2 requests.
 */
import { describeValue, listNames, quote } from '../codec/describe.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import type {
  InferenceResponse,
  ModelSignature,
  ResponseOutput,
  TensorElement,
  TensorSpec,
} from '../types.ts';

/** Which of the two v1 request formats a request used; the response uses the matching one. */
export type V1Format = 'instances' | 'inputs';

/** What `POST /v1/models/{path+}` names: the model, an optional version, and the verb. */
export interface V1Target {
  name: string;
  version?: string;
}

/**
 * Reads the path after `/v1/models/`: `{name}:predict` or `{name}/versions/{version}:predict`.
 *
 * @throws NotFoundError for anything else (another verb, extra segments), naming what is served.
 * @example
 * ```ts
 * parseV1Path('iris/versions/2:predict'); // { name: 'iris', version: '2' }
 * ```
 */
export function parseV1Path(path: string): V1Target {
  const colon = path.lastIndexOf(':');
  const verb = colon < 0 ? '' : path.slice(colon + 1);
  const target = colon < 0 ? path : path.slice(0, colon);
  if (verb !== 'predict') {
    throw new NotFoundError(
      `no v1 route for POST /v1/models/${path.slice(0, 200)}; the v1 verb served is :predict (POST /v1/models/{name}[/versions/{version}]:predict)`,
    );
  }
  const segments = target.split('/');
  if (segments.length === 1 && segments[0] !== '') return { name: segments[0] as string };
  if (segments.length === 3 && segments[1] === 'versions' && segments[0] !== '' && segments[2] !== '') {
    return { name: segments[0] as string, version: segments[2] as string };
  }
  throw new NotFoundError(
    `no v1 route for POST /v1/models/${path.slice(0, 200)}; expected /v1/models/{name}:predict or /v1/models/{name}/versions/{version}:predict`,
  );
}

/** The Open Inference Protocol request equivalent to a v1 request, and how to answer it. */
export interface V1Translation {
  format: V1Format;
  /** An OIP inference request body, for `InferenceService.infer`. */
  request: { inputs: { name: string; datatype: string; shape: number[]; data: unknown }[] };
  /** Number of instances (row format only). */
  rows?: number;
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Translates a v1 request body into an Open Inference Protocol request for a model with
 * `signature`. Row format: `instances` is a list with one entry per row: the row's value for a
 * single-input model (or, for a tabular model with `featureNames`, an object keyed by feature
 * name), an object keyed by input name otherwise. Columnar format: `inputs` is the tensor of a
 * single-input model, or an object keyed by input name (or by feature name, column by column).
 *
 * @throws BadRequestError naming the field and what was expected.
 */
export function translateV1Request(
  body: unknown,
  signature: ModelSignature,
  featureNames?: readonly string[],
): V1Translation {
  if (!isObject(body))
    throw new BadRequestError(`request body: expected a JSON object, got ${describeValue(body)}`);
  const hasInstances = Object.hasOwn(body, 'instances');
  const hasInputs = Object.hasOwn(body, 'inputs');
  if (hasInstances === hasInputs) {
    throw new BadRequestError(
      hasInstances
        ? "request body: send either 'instances' (row format) or 'inputs' (columnar format), not both"
        : "request body: expected 'instances' (row format) or 'inputs' (columnar format)",
    );
  }
  const inputs = signature.inputs;
  if (hasInstances) {
    const instances = body.instances;
    if (!Array.isArray(instances) || instances.length === 0) {
      throw new BadRequestError(`instances: expected a non-empty list, got ${describeValue(instances)}`);
    }
    const columns = inputs.map((spec) =>
      instances.map((instance, row) => instanceValue(instance, row, spec, inputs, featureNames)),
    );
    return {
      format: 'instances',
      rows: instances.length,
      request: {
        inputs: inputs.map((spec, i) =>
          tensor(spec, columns[i] as unknown[], `instances (input ${quote(spec.name)})`),
        ),
      },
    };
  }
  const value = body.inputs;
  const single = inputs.length === 1 ? (inputs[0] as TensorSpec) : undefined;
  if (single !== undefined && !isObject(value)) {
    return { format: 'inputs', request: { inputs: [tensor(single, value, 'inputs')] } };
  }
  if (!isObject(value)) {
    throw new BadRequestError(
      `inputs: the model has several inputs (${listNames(inputs.map((spec) => spec.name))}); expected an object keyed by input name, got ${describeValue(value)}`,
    );
  }
  if (single !== undefined && !Object.hasOwn(value, single.name) && featureNames !== undefined) {
    return {
      format: 'inputs',
      request: { inputs: [tensor(single, featureColumns(value, featureNames), 'inputs')] },
    };
  }
  for (const key of Object.keys(value)) {
    if (!inputs.some((spec) => spec.name === key)) {
      throw new BadRequestError(
        `inputs: unknown input ${quote(key)}; the model's inputs are ${listNames(inputs.map((spec) => spec.name))}`,
      );
    }
  }
  return {
    format: 'inputs',
    request: {
      inputs: inputs.map((spec) => {
        if (!Object.hasOwn(value, spec.name))
          throw new BadRequestError(`inputs: input ${quote(spec.name)} is missing`);
        return tensor(spec, value[spec.name], `inputs.${spec.name}`);
      }),
    },
  };
}

function instanceValue(
  instance: unknown,
  row: number,
  spec: TensorSpec,
  inputs: readonly TensorSpec[],
  featureNames: readonly string[] | undefined,
): unknown {
  if (inputs.length === 1) {
    if (!isObject(instance)) return instance;
    if (Object.hasOwn(instance, spec.name)) return instance[spec.name];
    if (featureNames !== undefined) return featureRow(instance, featureNames, `instances[${row}]`);
    throw new BadRequestError(
      `instances[${row}]: expected the value of input ${quote(spec.name)} or an object with key ${quote(spec.name)}`,
    );
  }
  if (!isObject(instance) || !Object.hasOwn(instance, spec.name)) {
    throw new BadRequestError(
      `instances[${row}]: the model has several inputs; expected an object with keys ${listNames(inputs.map((input) => input.name))}`,
    );
  }
  return instance[spec.name];
}

function featureRow(instance: JsonObject, featureNames: readonly string[], where: string): unknown[] {
  for (const key of Object.keys(instance)) {
    if (!featureNames.includes(key)) {
      throw new BadRequestError(
        `${where}: unknown feature ${quote(key)}; the features are ${listNames([...featureNames])}`,
      );
    }
  }
  return featureNames.map((feature) => {
    if (!Object.hasOwn(instance, feature))
      throw new BadRequestError(`${where}: feature ${quote(feature)} is missing`);
    return instance[feature];
  });
}

function featureColumns(columns: JsonObject, featureNames: readonly string[]): unknown[][] {
  const values = featureNames.map((feature) => {
    if (!Object.hasOwn(columns, feature))
      throw new BadRequestError(`inputs: feature ${quote(feature)} is missing`);
    const column = columns[feature];
    if (!Array.isArray(column)) {
      throw new BadRequestError(
        `inputs.${feature}: expected a list with one value per row, got ${describeValue(column)}`,
      );
    }
    return column;
  });
  featureRow(columns, featureNames, 'inputs');
  const rows = values[0]?.length ?? 0;
  values.forEach((column, i) => {
    if (column.length !== rows) {
      throw new BadRequestError(
        `inputs.${featureNames[i]}: ${column.length} values; the first feature has ${rows}`,
      );
    }
  });
  return Array.from({ length: rows }, (_, row) => values.map((column) => column[row]));
}

function tensor(spec: TensorSpec, data: unknown, where: string) {
  return { name: spec.name, datatype: spec.datatype, shape: shapeOf(data, where), data };
}

/** Dimensions of nested lists; ragged lists are a client mistake. */
function shapeOf(value: unknown, where: string): number[] {
  if (!Array.isArray(value)) return [];
  if (value.length === 0) return [0];
  const inner = shapeOf(value[0], `${where}[0]`);
  for (let i = 1; i < value.length; i++) {
    const other = shapeOf(value[i], `${where}[${i}]`);
    if (other.length !== inner.length || other.some((dim, d) => dim !== inner[d])) {
      throw new BadRequestError(
        `${where}: ragged nested lists: element 0 has shape [${inner.join(', ')}], element ${i} has [${other.join(', ')}]`,
      );
    }
  }
  return [value.length, ...inner];
}

/**
 * The v1 answer for an inference response: `{"predictions": [...]}` for the row format, one entry
 * per instance (the row's value when the model has one output, else an object keyed by output
 * name); `{"outputs": ...}` for the columnar format (the tensor, or an object keyed by output name).
 *
 * @throws BadRequestError when a row-format answer is impossible: an output without one row per instance.
 */
export function v1Response(response: InferenceResponse, translation: V1Translation): Record<string, unknown> {
  const outputs = response.outputs;
  if (translation.format === 'inputs') {
    if (outputs.length === 1) return { outputs: nest(outputs[0] as ResponseOutput) };
    return { outputs: Object.fromEntries(outputs.map((output) => [output.name, nest(output)])) };
  }
  const rows = translation.rows ?? 0;
  const perOutput = outputs.map((output) => {
    if (output.shape[0] !== rows) {
      throw new BadRequestError(
        `output ${quote(output.name)} has shape [${output.shape.join(', ')}], not one row per instance (${rows}); send 'inputs' (columnar format) to get it whole`,
      );
    }
    return nest(output) as unknown[];
  });
  const predictions = Array.from({ length: rows }, (_, row) =>
    outputs.length === 1
      ? (perOutput[0] as unknown[])[row]
      : Object.fromEntries(outputs.map((output, i) => [output.name, (perOutput[i] as unknown[])[row]])),
  );
  return { predictions };
}

/** Flat row-major data back into nested lists of the output's shape. */
function nest(output: ResponseOutput): unknown {
  const { shape, data } = output;
  if (shape.length === 0) return data[0];
  let offset = 0;
  const build = (depth: number): unknown[] => {
    const size = shape[depth] as number;
    if (depth === shape.length - 1) {
      const slice: TensorElement[] = data.slice(offset, offset + size);
      offset += size;
      return slice;
    }
    return Array.from({ length: size }, () => build(depth + 1));
  };
  return build(0);
}
