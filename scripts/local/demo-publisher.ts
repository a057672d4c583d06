import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listPublishedVersions, publishModel } from '../../src/repository/publish.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { buildDemoModels, DEMO_MODEL_NAMES } from '../demo-models.ts';

/**
 * Makes sure the demo models are in the bucket: trains them into `buildDir` when the files are
 * missing, and publishes version 1 of each model the bucket does not have yet. Models already in
 * the bucket (perhaps newer versions a user published) are left alone.
 */
export async function publishDemoModels(store: ObjectStore, buildDir: string): Promise<string[]> {
  const lines: string[] = [];
  const built = await Promise.all(
    DEMO_MODEL_NAMES.map((name) => exists(join(buildDir, name, '1', 'model.onnx'))),
  );
  if (built.includes(false)) {
    for (const summary of await buildDemoModels(buildDir)) {
      lines.push(
        `demo model ${summary.name}: trained on ${summary.trainSize} rows, hold-out accuracy ${summary.holdoutAccuracy.toFixed(3)}`,
      );
    }
  }
  for (const name of DEMO_MODEL_NAMES) {
    if ((await listPublishedVersions(store, name)).length > 0) continue;
    const model = await readFile(join(buildDir, name, '1', 'model.onnx'));
    const config = JSON.parse(await readFile(join(buildDir, name, 'config.json'), 'utf8')) as unknown;
    const result = await publishModel(store, { name, version: 1, model, config });
    lines.push(`published ${result.modelKey} (${result.bytes} bytes)`);
  }
  return lines;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
