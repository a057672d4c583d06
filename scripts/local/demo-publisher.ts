import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { referenceFromData } from '../../src/drift/profiles/reference-from-data.ts';
import { REFERENCE_FILE, referenceKey } from '../../src/drift/profiles/reference-types.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { listPublishedVersions, publishModel } from '../../src/repository/publish.ts';
import { buildDemoModels, DEMO_MODEL_NAMES } from '../demo-models.ts';

/**
 * Makes sure the demo models are in the bucket: trains them into `buildDir` when the files are
 * missing, and publishes version 1 of each model the bucket does not have yet, with its drift
 * reference profile computed from its training rows (`train.csv`, labelled). Models already in
 * the bucket (perhaps newer versions a user published) are left alone, except that a demo
 * version 1 without `reference.json` gets one.
 */
export async function publishDemoModels(store: ObjectStore, buildDir: string): Promise<string[]> {
  const lines: string[] = [];
  const built = await Promise.all(
    DEMO_MODEL_NAMES.flatMap((name) => [
      exists(join(buildDir, name, '1', 'model.onnx')),
      exists(join(buildDir, name, 'train.csv')),
    ]),
  );
  if (built.includes(false)) {
    for (const summary of await buildDemoModels(buildDir)) {
      lines.push(
        `demo model ${summary.name}: trained on ${summary.trainSize} rows, hold-out accuracy ${summary.holdoutAccuracy.toFixed(3)}`,
      );
    }
  }
  for (const name of DEMO_MODEL_NAMES) {
    const versions = await listPublishedVersions(store, name);
    if (versions.length > 0 && (!versions.includes(1) || (await store.head(referenceKey(name, 1))))) continue;
    const model = await readFile(join(buildDir, name, '1', 'model.onnx'));
    const config = JSON.parse(await readFile(join(buildDir, name, 'config.json'), 'utf8')) as unknown;
    const reference = await referenceFromData({
      model: name,
      modelBytes: model,
      config,
      text: await readFile(join(buildDir, name, 'train.csv'), 'utf8'),
      fileName: 'train.csv',
      labelColumn: 'label',
    });
    const body = `${JSON.stringify(reference)}\n`;
    if (versions.length > 0) {
      await store.put(referenceKey(name, 1), body, { contentType: 'application/json' });
      lines.push(`drift reference → ${referenceKey(name, 1)}`);
      continue;
    }
    const result = await publishModel(store, {
      name,
      version: 1,
      model,
      config,
      versionFiles: [{ name: REFERENCE_FILE, body, contentType: 'application/json' }],
    });
    lines.push(`published ${result.modelKey} (${result.bytes} bytes) with its drift reference`);
  }
  return lines;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
