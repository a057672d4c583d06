import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { ModelUnavailableError } from '../../src/errors.ts';
import { parseModelConfig } from '../../src/repository/model-config.ts';
import {
  CPU_LIST_FILES,
  type CpuEnvironment,
  chooseSessionTuning,
  detectCpuEnvironment,
  sessionOptionsOf,
  withOverrides,
} from '../../src/runtime/session-options.ts';

const lambda = (memoryMb: number, visibleCpus = 2): CpuEnvironment => ({
  memoryMb,
  visibleCpus,
  cpuListsPresent: true,
  arch: 'arm64',
});

describe('chooseSessionTuning', () => {
  it("on Lambda: one intra-op thread below half a vCPU, else twice the memory's share, never spinning", () => {
    const threads = (memoryMb: number, visible?: number) =>
      chooseSessionTuning(lambda(memoryMb, visible)).tuning.intraOpThreads;

    assert.equal(threads(128), 1);
    assert.equal(threads(512), 1);
    assert.equal(threads(884), 1, 'just under half a vCPU');
    assert.equal(threads(885), 2, 'half a vCPU');
    assert.equal(threads(1024), 2);
    assert.equal(threads(1769), 2);
    assert.equal(threads(3008), 2);
    assert.equal(threads(3008, 4), 4);
    assert.equal(threads(3538), 2);
    // Never more threads than CPUs the process can run on.
    assert.equal(threads(10240, 6), 6);
    assert.equal(threads(10240, 2), 2);
    assert.equal(threads(1769, 1), 1);
    for (const memoryMb of [128, 1769, 3538, 10240]) {
      const { tuning } = chooseSessionTuning(lambda(memoryMb, 6));
      assert.equal(tuning.spinning, false, `${memoryMb} MB`);
      assert.equal(tuning.executionMode, 'sequential');
      assert.equal(tuning.interOpThreads, 1);
    }
  });

  it('outside Lambda: a thread per visible CPU, spinning as onnxruntime does by default', () => {
    const { tuning, notes } = chooseSessionTuning({ visibleCpus: 4, cpuListsPresent: true, arch: 'x64' });

    assert.deepEqual(tuning, {
      intraOpThreads: 4,
      interOpThreads: 1,
      executionMode: 'sequential',
      spinning: true,
    });
    assert.deepEqual(notes, ['no Lambda memory size: 4 intra-op threads (visible CPUs)']);
  });

  it('without the kernel CPU lists, the thread count is still set, and the note says why', () => {
    const { tuning, notes } = chooseSessionTuning({ ...lambda(3538), cpuListsPresent: false });

    assert.equal(tuning.intraOpThreads, 2);
    assert.equal(notes.length, 2);
    assert.match(
      notes[1] ?? '',
      /\/sys\/devices\/system\/cpu\/possible and \/sys\/devices\/system\/cpu\/present absent/,
    );
    assert.match(notes[1] ?? '', /cpuinfo_initialize failed.*2 set explicitly/);
  });
});

describe('detectCpuEnvironment', () => {
  it('reads the memory it is given, the visible CPUs and whether both CPU lists exist', () => {
    const seen: string[] = [];
    const cpu = detectCpuEnvironment(1024, {
      exists: (path) => {
        seen.push(path);
        return path.endsWith('possible');
      },
      visibleCpus: () => 2,
      arch: () => 'arm64',
    });

    assert.deepEqual(cpu, { memoryMb: 1024, visibleCpus: 2, cpuListsPresent: false, arch: 'arm64' });
    assert.deepEqual(seen, [...CPU_LIST_FILES]);
  });

  it('treats a missing or nonsensical memory size as outside Lambda', () => {
    for (const memory of [undefined, 0, -5, Number.NaN]) {
      assert.equal(detectCpuEnvironment(memory).memoryMb, undefined);
    }
    assert.ok(detectCpuEnvironment(undefined).visibleCpus >= 1);
  });
});

describe('session overrides in config.json', () => {
  const tuning = chooseSessionTuning(lambda(512)).tuning;

  it('override what they name and keep the rest', () => {
    assert.deepEqual(withOverrides(tuning, { intra_op_threads: 2, execution_mode: 'parallel' }), {
      intraOpThreads: 2,
      interOpThreads: 1,
      executionMode: 'parallel',
      spinning: false,
    });
    assert.equal(withOverrides(tuning, undefined), tuning);
  });

  it('are parsed by parseModelConfig, unknown keys warned about', () => {
    const { config, warnings } = parseModelConfig(
      {
        session: {
          intra_op_threads: 3,
          inter_op_threads: 2,
          execution_mode: 'parallel',
          spinning: true,
          x: 1,
        },
      },
      'm',
    );

    assert.deepEqual(config.session, {
      intra_op_threads: 3,
      inter_op_threads: 2,
      execution_mode: 'parallel',
      spinning: true,
    });
    assert.deepEqual(warnings, ["model 'm' config.json: unknown field 'session.x' ignored"]);
  });

  const mistakes: [unknown, RegExp][] = [
    [[], /'session' must be an object; got an empty array/],
    [{ intra_op_threads: 0 }, /'session.intra_op_threads' must be an integer from 1 to 64; got number 0/],
    [{ intra_op_threads: 1.5 }, /'session.intra_op_threads' must be an integer from 1 to 64; got number 1.5/],
    [{ inter_op_threads: '2' }, /'session.inter_op_threads' must be an integer from 1 to 64; got "2"/],
    [{ execution_mode: 'fast' }, /'session.execution_mode' must be 'sequential' or 'parallel'; got "fast"/],
    [{ spinning: 'no' }, /'session.spinning' must be true or false; got "no"/],
  ];
  for (const [session, message] of mistakes) {
    it(`refuses session ${JSON.stringify(session)} with a 422 naming the field`, () => {
      assert.throws(
        () => parseModelConfig({ session }, 'm'),
        (error: unknown) => error instanceof ModelUnavailableError && message.test(error.message),
      );
    });
  }
});

describe('sessionOptionsOf', () => {
  it('sets threads, mode and spinning through the config keys onnxruntime reads', () => {
    assert.deepEqual(
      sessionOptionsOf({
        intraOpThreads: 1,
        interOpThreads: 1,
        executionMode: 'sequential',
        spinning: false,
      }),
      {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      },
    );
  });

  it('onnxruntime accepts every combination and runs a model with it', async () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', elemType: 'float32', shape: [2] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: [2] }],
      nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
    });
    for (const executionMode of ['sequential', 'parallel'] as const) {
      for (const spinning of [false, true]) {
        const session = await InferenceSession.create(
          bytes,
          sessionOptionsOf({ intraOpThreads: 2, interOpThreads: 2, executionMode, spinning }),
        );
        const { y } = await session.run({ x: new Tensor('float32', Float32Array.from([-1, 3]), [2]) });
        assert.deepEqual(Array.from(y?.data as Float32Array), [0, 3]);
        await session.release();
      }
    }
  });
});
