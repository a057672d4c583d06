/**
 * What a model's graph says about itself, used where its config.json is silent: a ZipMap output
 * (see `rewriteZipMapOutputs`) makes the model a classifier, names its probabilities output and
 * gives the class labels; the int or string output next to it is the predicted label. Without
 * one, the shape of the first output says classifier (`[N, C]` floats) or regressor (`[N]`).
 */
import type { ZipMapRewrite } from '../onnx/zipmap.ts';
import type { ModelSignature } from '../types.ts';
import type { ModelConfig, OutputRoles, Task } from './model-config.ts';

/** Defaults for the config.json fields `task`, `labels` and `outputs`, inferred from the model. */
export interface ModelDefaults {
  task?: Task;
  labels?: string[];
  outputs?: OutputRoles;
}

/**
 * The defaults a model's graph implies. Integer class labels are kept only when they are a
 * relabelling-free `0…C−1` or strings: labels are looked up by the predicted integer, so
 * `[1, 5, 7]` would name the wrong classes.
 *
 * @example
 * ```ts
 * inferModelDefaults(signature, [{ output: 'output_probability', source: 'probabilities', labels: ['a', 'b'], labelType: 'string' }]);
 * // { task: 'classification', labels: ['a', 'b'], outputs: { probabilities: 'output_probability', label: 'output_label' } }
 * ```
 */
export function inferModelDefaults(
  signature: ModelSignature,
  zipmaps: readonly ZipMapRewrite[],
): ModelDefaults {
  const [zipmap] = zipmaps;
  if (zipmap === undefined) return predictionDefaults(signature);
  const label = signature.outputs.find(
    (output) =>
      output.name !== zipmap.output &&
      (output.datatype === 'INT64' || output.datatype === 'INT32' || output.datatype === 'BYTES') &&
      (output.shape === null ||
        output.shape.length === 1 ||
        (output.shape.length === 2 && output.shape[1] === 1)),
  );
  const indexLabels = zipmap.labels.every((name, index) => name === String(index));
  return {
    task: 'classification',
    ...(zipmap.labelType === 'string' || indexLabels ? { labels: [...zipmap.labels] } : {}),
    outputs: { probabilities: zipmap.output, ...(label === undefined ? {} : { label: label.name }) },
  };
}

/**
 * `config` with the model's defaults filled in where it says nothing; what config.json says wins.
 *
 * @example
 * ```ts
 * withModelDefaults({ task: 'other' }, { task: 'classification', labels: ['0', '1'] });
 * // { task: 'other', labels: ['0', '1'] }
 * ```
 */
export function withModelDefaults(config: ModelConfig, defaults: ModelDefaults): ModelConfig {
  if (defaults.task === undefined && defaults.labels === undefined && defaults.outputs === undefined)
    return config;
  return {
    ...config,
    task: config.task ?? defaults.task,
    labels: config.labels ?? defaults.labels,
    outputs:
      defaults.outputs === undefined && config.outputs === undefined
        ? undefined
        : { ...defaults.outputs, ...config.outputs },
  };
}

/**
 * Without ZipMap: nothing when outputs are named `label`/`probabilities` (the conventional names,
 * recognised as they are), else the first output decides: `[N, C]` floats with C > 1 (class
 * probabilities or logits) make a classifier whose label is the argmax; `[N]` or `[N, 1]`
 * numbers make a regressor with that score.
 */
function predictionDefaults(signature: ModelSignature): ModelDefaults {
  const names = signature.outputs.map((output) => output.name);
  if (names.includes('label') || names.includes('probabilities')) return {};
  const [first] = signature.outputs;
  if (first === undefined || first.shape === null) return {};
  const numeric = first.datatype !== 'BYTES' && first.datatype !== 'BOOL';
  const floats = first.datatype === 'FP16' || first.datatype === 'FP32' || first.datatype === 'FP64';
  const width = first.shape[1];
  if (floats && first.shape.length === 2 && width !== undefined && width > 1) {
    return { task: 'classification', outputs: { probabilities: first.name } };
  }
  if (numeric && (first.shape.length === 1 || (first.shape.length === 2 && width === 1))) {
    return { task: 'regression', outputs: { score: first.name } };
  }
  return {};
}
