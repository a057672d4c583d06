import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { conformanceDir } from '../helpers/paths.ts';

/** One ONNX backend case: a model and, when stored, its input and expected output tensors. */
export interface ConformanceCase {
  /** `group/case`, for test names. */
  name: string;
  modelPath: string;
  /** `input_N.pb` paths in N order; empty for the `light/` cases, whose input is generated. */
  inputPaths: string[];
  /** `output_N.pb` paths in N order. */
  outputPaths: string[];
}

const byIndex = (a: string, b: string): number =>
  Number(/(\d+)\.pb$/.exec(a)?.[1]) - Number(/(\d+)\.pb$/.exec(b)?.[1]);

/** Every case of `onnx-backend/`: the `simple/` and `pytorch-operator/` folders and the `light/` files. */
export async function conformanceCases(): Promise<ConformanceCase[]> {
  const base = join(conformanceDir(), 'onnx-backend');
  const cases: ConformanceCase[] = [];
  for (const group of (await readdir(base)).sort()) {
    const groupDir = join(base, group);
    for (const entry of (await readdir(groupDir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.isDirectory()) {
        const dataDir = join(groupDir, entry.name, 'test_data_set_0');
        const files = await readdir(dataDir);
        cases.push({
          name: `${group}/${entry.name}`,
          modelPath: join(groupDir, entry.name, 'model.onnx'),
          inputPaths: files
            .filter((f) => f.startsWith('input_'))
            .sort(byIndex)
            .map((f) => join(dataDir, f)),
          outputPaths: files
            .filter((f) => f.startsWith('output_'))
            .sort(byIndex)
            .map((f) => join(dataDir, f)),
        });
      } else if (entry.name.endsWith('.onnx')) {
        const stem = entry.name.slice(0, -'.onnx'.length);
        cases.push({
          name: `${group}/${stem}`,
          modelPath: join(groupDir, entry.name),
          inputPaths: [],
          outputPaths: [join(groupDir, `${stem}_output_0.pb`)],
        });
      }
    }
  }
  return cases;
}
