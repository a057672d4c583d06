import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type AwsStub,
  answerQuery,
  OFFLINE_ACCOUNT_ID,
  parseQuery,
  startAwsStub,
} from '../../scripts/deploy/aws-stub.ts';
import { buildArtifacts, LAMBDA_RUNTIMES, parseCliArgs, stageParams } from '../../scripts/package.ts';

describe('offline AWS stub', () => {
  it('DescribeStacks: CloudFormation\'s "does not exist" ValidationError, status 400, AWS Query XML', () => {
    const { status, body } = answerQuery(
      { action: 'DescribeStacks', params: { StackName: 'onnx-serve-dev' } },
      'r1',
    );

    assert.equal(status, 400);
    assert.match(body, /^<ErrorResponse xmlns="http:\/\/cloudformation\.amazonaws\.com\/doc\/2010-05-15\/">/);
    assert.match(body, /<Code>ValidationError<\/Code>/);
    assert.match(body, /<Message>Stack with id onnx-serve-dev does not exist<\/Message>/);
    assert.match(body, /<RequestId>r1<\/RequestId>/);
  });

  it('GetCallerIdentity: the placeholder account', () => {
    const { status, body } = answerQuery({ action: 'GetCallerIdentity', params: {} });

    assert.equal(status, 200);
    assert.match(body, new RegExp(`<Account>${OFFLINE_ACCOUNT_ID}</Account>`));
  });

  it('anything else: an error naming the action, never a silent success', () => {
    const { status, body } = answerQuery({ action: 'CreateStack', params: {} });

    assert.equal(status, 400);
    assert.match(body, /CreateStack is not available without AWS/);
  });

  it('escapes what it echoes', () => {
    const { body } = answerQuery({ action: 'DescribeStacks', params: { StackName: '<x&y>' } });

    assert.match(body, /Stack with id &#60;x&#38;y&#62; does not exist/);
  });

  it('parses AWS Query bodies', () => {
    assert.deepEqual(parseQuery('Action=DescribeStacks&StackName=onnx-serve-dev&Version=2010-05-15'), {
      action: 'DescribeStacks',
      params: { StackName: 'onnx-serve-dev', Version: '2010-05-15' },
    });
  });

  describe('over HTTP', () => {
    let stub: AwsStub;
    before(async () => {
      stub = await startAwsStub();
    });
    after(async () => {
      await stub.close();
    });

    it('listens on loopback, answers and records each call', async () => {
      const response = await fetch(stub.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=DescribeStacks&Version=2010-05-15&StackName=s',
      });

      assert.match(stub.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(response.status, 400);
      assert.match(await response.text(), /does not exist/);
      assert.deepEqual(stub.calls, [
        { action: 'DescribeStacks', params: { Version: '2010-05-15', StackName: 's' } },
      ]);
      assert.deepEqual(stub.environment(), {
        AWS_ENDPOINT_URL_CLOUDFORMATION: stub.endpoint,
        AWS_ENDPOINT_URL_STS: stub.endpoint,
      });
    });
  });
});

describe('npm run package arguments', () => {
  it('stage, region, repeated params in both spellings, output folder', () => {
    const options = parseCliArgs([
      '--stage',
      'prod',
      '--region=eu-west-1',
      '--param=architecture=x86_64',
      '--param',
      'jwtIssuerUrl=https://issuer.example.com/?a=b',
      '--package',
      'out',
    ]);

    assert.deepEqual(options, {
      deploy: false,
      stage: 'prod',
      region: 'eu-west-1',
      outDir: 'out',
      params: { architecture: 'x86_64', jwtIssuerUrl: 'https://issuer.example.com/?a=b' },
    });
  });

  it('refuses what it does not know, and a param without a value', () => {
    assert.throws(() => parseCliArgs(['--stgae', 'prod']), /unknown option --stgae/);
    assert.throws(() => parseCliArgs(['--param', 'architecture']), /--param takes name=value/);
    assert.throws(() => parseCliArgs(['--stage']), /--stage needs a value/);
  });
});

describe('params the layer is built for', () => {
  it("a stage's params override the defaults, as the framework resolves them", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onnx-serve-params-'));
    const file = join(dir, 'serverless.yml');
    await writeFile(
      file,
      'params:\n  default:\n    architecture: arm64\n    httpMemory: 1769\n  prod:\n    architecture: x86_64\n',
    );
    try {
      assert.deepEqual(await stageParams('dev', file), { architecture: 'arm64', httpMemory: '1769' });
      assert.deepEqual(await stageParams('prod', file), { architecture: 'x86_64', httpMemory: '1769' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serverless.yml defaults to arm64', async () => {
    assert.equal((await stageParams('dev')).architecture, 'arm64');
  });

  it('serverless.yml defaults to nodejs24.x, nodejs22.x selectable', async () => {
    assert.equal((await stageParams('dev')).runtime, 'nodejs24.x');
    assert.deepEqual([...LAMBDA_RUNTIMES], ['nodejs24.x', 'nodejs22.x']);
  });

  it('a runtime Lambda does not offer for this product is refused before anything is built', async () => {
    await assert.rejects(
      buildArtifacts('dev', { runtime: 'nodejs20.x' }),
      /param runtime must be one of nodejs24.x, nodejs22.x; got "nodejs20.x"/,
    );
  });
});
