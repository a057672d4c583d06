/**
 * What a model's graph says about itself, used where its config.json is silent: a ZipMap output
 * (see `rewriteZipMapOutputs`) makes the model a classifier, names its probabilities output and
 * gives the class labels; the int or string output next to it is the predicted label.
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
  if (zipmap === undefined) return {};
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
