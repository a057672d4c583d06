/**
 * `npm run demo:traffic` against a local stack (`npm start`'s code, built bundles): hold-out
 * traffic with its outcomes gives no drift in its window, the same rows with shifted features give
 * drift in theirs, with the shifted features among the drifted ones and both reports in the bucket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { main as demoTraffic } from '../../scripts/demo-traffic.ts';
import { type RunningStack, startStack } from '../helpers/local-stack.ts';

let stack: RunningStack;

before(async () => {
  stack = await startStack({ CAPTURE_FLUSH_SECONDS: '0.5', DRIFT_INTERVAL_SECONDS: '0' });
});

after(async () => {
  await stack?.stop();
});

describe('npm run demo:traffic', () => {
  it('finds no drift in the normal phase and drift in the shifted one', { timeout: 60_000 }, async () => {
    // Act
    const printed: string[] = [];
    const { model, phases } = await demoTraffic(['--state-dir', stack.stateDir], (line) =>
      printed.push(line),
    );

    // Assess
    const [normal, shifted] = phases;
    const output = printed.join('\n');
    assert.equal(model, 'breast-cancer');
    assert.ok(normal.report && shifted.report, output);
    assert.notEqual(normal.report.verdict, 'drift', output);
    assert.notEqual(normal.report.verdict, 'insufficient_data', output);
    assert.equal(normal.report.counts.predictions, normal.rows);
    assert.equal(normal.report.outcomes.joined, normal.rows);
    assert.ok(normal.window.end <= shifted.window.start, 'the windows do not overlap');

    assert.equal(shifted.report.verdict, 'drift', output);
    assert.equal(shifted.report.counts.predictions, shifted.rows, 'only the shifted phase is in its window');
    assert.equal(shifted.report.outcomes.joined, shifted.rows);
    assert.ok(shifted.shifted.length > 0);
    for (const feature of shifted.shifted)
      assert.ok(shifted.report.data_drift.drifted_features.includes(feature), `${feature} drifts\n${output}`);

    for (const phase of phases) {
      assert.ok(phase.report && (await stack.store.head(phase.report.keys.html)), 'HTML report stored');
      assert.ok(await stack.store.head(phase.report.keys.json), 'JSON report stored');
      assert.ok(phase.link?.startsWith(`${stack.s3.endpoint}/${stack.s3.bucket}/reports/breast-cancer/`));
      assert.ok(output.includes(phase.report.keys.html));
      assert.ok(phase.link && output.includes(phase.link));
    }
    assert.notEqual(normal.report.keys.json, shifted.report.keys.json);
  });
});
