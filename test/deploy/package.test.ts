/**
 * The deployment, proven offline: `serverless package` (osls) runs twice, once with the defaults
 * (arm64, AWS_IAM) and once with every switch flipped (x86_64, JWT, another stage and region, an
 * alarm address); the tests assert on the CloudFormation templates and artifacts it leaves.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { OFFLINE_ACCOUNT_ID } from '../../scripts/deploy/aws-stub.ts';
import {
  BUNDLE_BUDGET_BYTES,
  LAYER_ZIPPED_BUDGET_BYTES,
  type LambdaArchitecture,
} from '../../scripts/deploy/budgets.ts';
import { type PackageResult, packageOffline } from '../../scripts/package.ts';
import { CAPTURE_FILTER_PATTERN, formatCaptureLine } from '../../src/capture/log-line.ts';
import { captureFolder, captureTensor, createCaptureRecord } from '../../src/capture/record.ts';
import { ROUTE_KEYS } from '../../src/http/routes.ts';
import { ROOT } from '../helpers/paths.ts';
import { expandPrefix, matchesFilterPattern, partitionKeys } from './capture-pipeline.ts';
import {
  ALARMS,
  ASYNC_INVOKE,
  COMMON_ENVIRONMENT,
  DRIFT_EVENT,
  FUNCTIONS,
  NAMESPACE,
  OPEN_ROUTES,
  ref,
  roleGrants,
  SERVICE,
} from './expectations.ts';
import { findPolicyViolations } from './iam-policy.ts';
import {
  at,
  identityStatements,
  list,
  props,
  readTemplate,
  render,
  resource,
  resourcesOfType,
  statementActions,
  statementResources,
  type Template,
} from './template.ts';

interface Variant {
  label: string;
  stage: string;
  region: string;
  architecture: LambdaArchitecture;
  runtime: 'nodejs24.x' | 'nodejs22.x';
  authorizer: 'iam' | 'jwt';
  alarmEmail: string;
  params: Record<string, string>;
}

const DEFAULTS: Variant = {
  label: 'defaults',
  stage: 'dev',
  region: 'us-east-1',
  architecture: 'arm64',
  runtime: 'nodejs24.x',
  authorizer: 'iam',
  alarmEmail: '',
  params: {},
};
const SWITCHED: Variant = {
  label: 'x86_64, nodejs22.x, JWT, stage prod in eu-west-1',
  stage: 'prod',
  region: 'eu-west-1',
  architecture: 'x86_64',
  runtime: 'nodejs22.x',
  authorizer: 'jwt',
  alarmEmail: 'ops@example.com',
  params: {
    architecture: 'x86_64',
    runtime: 'nodejs22.x',
    authorizer: 'jwt',
    jwtIssuerUrl: 'https://issuer.example.com/',
    jwtAudience: 'onnx-serve-api',
    alarmEmail: 'ops@example.com',
  },
};

const packaged = new Map<Variant, { result: PackageResult; template: Template }>();
let workDir = '';

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'onnx-serve-package-'));
  for (const variant of [DEFAULTS, SWITCHED]) {
    const result = await packageOffline({
      stage: variant.stage,
      region: variant.region,
      params: variant.params,
      outDir: join(workDir, variant.stage),
      quiet: true,
    });
    packaged.set(variant, { result, template: await readTemplate(result.template) });
  }
});

after(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function templateOf(variant: Variant): Template {
  const entry = packaged.get(variant);
  if (!entry) throw new Error(`${variant.label} was not packaged`);
  return entry.template;
}

function resultOf(variant: Variant): PackageResult {
  const entry = packaged.get(variant);
  if (!entry) throw new Error(`${variant.label} was not packaged`);
  return entry.result;
}

const bucketName = (variant: Variant) =>
  `${SERVICE}-${variant.stage}-${OFFLINE_ACCOUNT_ID}-${variant.region}`;

describe('offline packaging', () => {
  it('answers the framework from the loopback stub, never AWS', () => {
    for (const variant of [DEFAULTS, SWITCHED]) {
      const calls = resultOf(variant).awsCalls;

      assert.ok(calls.includes('DescribeStacks'), `${variant.label}: ${calls}`);
      assert.ok(calls.includes('GetCallerIdentity'), `${variant.label}: ${calls}`);
    }
  });
});

describe('functions', () => {
  it('every function of the template has a row in the expectations, and every row a function', () => {
    const template = templateOf(DEFAULTS);
    const deployed = resourcesOfType(template, 'AWS::Lambda::Function')
      .map(([id]) => id)
      .filter((id) => id !== 'CustomDashresourceDashexistingDashs3LambdaFunction');

    assert.deepEqual(deployed.sort(), FUNCTIONS.map((row) => row.logicalId).sort());
  });

  for (const row of FUNCTIONS) {
    describe(row.name, () => {
      for (const variant of [DEFAULTS, SWITCHED]) {
        it(`runtime, architecture, layer, memory, timeout, role, environment (${variant.label})`, () => {
          const template = templateOf(variant);
          const fn = props(resource(template, row.logicalId, 'AWS::Lambda::Function'));

          assert.equal(fn.FunctionName, `${SERVICE}-${variant.stage}-${row.name}`);
          assert.equal(fn.Runtime, variant.runtime);
          assert.deepEqual(fn.Architectures, [variant.architecture]);
          assert.equal(fn.Handler, row.handler);
          assert.equal(fn.MemorySize, row.memory);
          assert.equal(fn.Timeout, row.timeout);
          assert.equal(render(fn.Role), ref(`${row.role}.Arn`));
          assert.deepEqual(
            list(fn.Layers as unknown[]).map(render),
            row.layer ? [ref('OnnxruntimeLambdaLayer')] : [],
          );
          const environment = at(fn, 'Environment', 'Variables') as Record<string, string>;
          assert.deepEqual(
            Object.keys(environment).sort(),
            [...COMMON_ENVIRONMENT, ...row.environment].sort(),
          );
          assert.equal(environment.MODEL_BUCKET, bucketName(variant));
          assert.equal(environment.POWERTOOLS_SERVICE_NAME, SERVICE);
          assert.equal(environment.POWERTOOLS_METRICS_NAMESPACE, NAMESPACE);
        });
      }

      it('events', () => {
        const template = templateOf(DEFAULTS);
        const { events } = row;
        if (events.kind === 's3') {
          const notifications = resourcesOfType(template, 'Custom::S3')
            .map(([id, value]) => ({ id, value, properties: props(value) }))
            .filter(({ properties }) => properties.FunctionName === `${SERVICE}-dev-${row.name}`);
          assert.equal(notifications.length, 1, 'one S3 notification resource');
          const [notification] = notifications;
          assert.equal(notification?.properties.BucketName, bucketName(DEFAULTS));
          assert.deepEqual(notification?.properties.BucketConfigs, [
            { Event: 's3:ObjectCreated:*', Rules: events.rules },
          ]);
          assert.ok(list(notification?.value.DependsOn).includes('ModelBucket'), 'created after the bucket');
        } else if (events.kind === 'destination') {
          const sources = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig')
            .map(([, value]) => props(value))
            .filter(
              (config) =>
                render(at(config, 'DestinationConfig', 'OnFailure', 'Destination')) ===
                ref(`${row.logicalId}.Arn`),
            )
            .map((config) => render(config.FunctionName));
          assert.deepEqual(sources, [ref(events.of)]);
          const triggers = [
            ...resourcesOfType(template, 'Custom::S3'),
            ...resourcesOfType(template, 'AWS::Events::Rule'),
          ].filter(([, value]) => JSON.stringify(value).includes(row.name));
          assert.deepEqual(triggers, [], 'no other event source');
        } else if (events.kind === 'httpApi') {
          const integration = props(resource(template, 'HttpApiIntegrationHttp'));
          assert.equal(render(integration.IntegrationUri), ref(`${row.logicalId}.Arn`));
          assert.equal(integration.PayloadFormatVersion, '2.0');
        } else {
          const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, value]) =>
            list(props(value).Targets as unknown[]).some(
              (target) => render(at(target, 'Arn')) === ref(`${row.logicalId}.Arn`),
            ),
          );
          assert.equal(rules.length, 1, 'one schedule');
          assert.equal(props(rules[0]?.[1] as never).ScheduleExpression, events.expression);
        }
      });

      it(row.async ? 'failure destination and bounded retries' : 'invoked synchronously only', () => {
        const template = templateOf(DEFAULTS);
        const configs = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').filter(
          ([, value]) => render(props(value).FunctionName) === ref(row.logicalId),
        );
        if (!row.async) {
          assert.equal(configs.length, 0);
          return;
        }
        assert.equal(configs.length, 1);
        const config = props(configs[0]?.[1] as never);
        assert.equal(
          render(at(config, 'DestinationConfig', 'OnFailure', 'Destination')),
          row.failureDestination ?? ref('AsyncFailureQueue.Arn'),
        );
        assert.equal(config.MaximumEventAgeInSeconds, ASYNC_INVOKE.maximumEventAge);
        assert.equal(config.MaximumRetryAttempts, ASYNC_INVOKE.maximumRetryAttempts);
        assert.ok((config.MaximumEventAgeInSeconds as number) <= 21_600);
      });
    });
  }
});

describe('HTTP API routes', () => {
  const routesOf = (template: Template) =>
    resourcesOfType(template, 'AWS::ApiGatewayV2::Route').map(([, value]) => props(value));

  it('every Open Inference Protocol route, and $default, to the http function', () => {
    const routes = routesOf(templateOf(DEFAULTS));

    assert.deepEqual(routes.map((route) => route.RouteKey).sort(), [...ROUTE_KEYS, '$default'].sort());
    for (const route of routes) {
      assert.equal(render(route.Target), `integrations/${ref('HttpApiIntegrationHttp')}`);
    }
  });

  it("the routes of Triton's extensions and of the v1 protocol, each with the authorizer", () => {
    const routes = routesOf(templateOf(DEFAULTS));
    const keys = new Map(routes.map((route) => [String(route.RouteKey), route]));

    for (const key of [
      'POST /v2/repository/models/{name}/load',
      'POST /v2/repository/models/{name}/unload',
      'GET /v2/models/{name}/config',
      'GET /v2/models/{name}/versions/{version}/config',
      'GET /v2/models/stats',
      'GET /v2/models/{name}/stats',
      'GET /v2/models/{name}/versions/{version}/stats',
      'GET /v1/models',
      'GET /v1/models/{name}',
      'POST /v1/models/{path+}',
    ]) {
      assert.equal(keys.get(key)?.AuthorizationType, 'AWS_IAM', key);
    }
  });

  for (const variant of [DEFAULTS, SWITCHED]) {
    it(`health routes open, every other route ${variant.authorizer === 'iam' ? 'AWS_IAM' : 'JWT'} (${variant.label})`, () => {
      const routes = routesOf(templateOf(variant));

      for (const route of routes) {
        const key = String(route.RouteKey);
        if (OPEN_ROUTES.has(key)) {
          assert.equal(route.AuthorizationType, undefined, `${key} is open`);
        } else if (variant.authorizer === 'iam') {
          assert.equal(route.AuthorizationType, 'AWS_IAM', key);
          assert.equal(route.AuthorizerId, undefined, key);
        } else {
          assert.equal(route.AuthorizationType, 'JWT', key);
          assert.equal(render(route.AuthorizerId), ref('HttpApiAuthorizerJwt'), key);
        }
      }
      assert.equal(
        routes.filter((route) => OPEN_ROUTES.has(String(route.RouteKey))).length,
        OPEN_ROUTES.size,
      );
    });
  }

  it('the JWT authorizer exists only when selected, with the issuer and audience given', () => {
    assert.equal(resourcesOfType(templateOf(DEFAULTS), 'AWS::ApiGatewayV2::Authorizer').length, 0);
    const authorizer = props(
      resource(templateOf(SWITCHED), 'HttpApiAuthorizerJwt', 'AWS::ApiGatewayV2::Authorizer'),
    );

    assert.equal(authorizer.AuthorizerType, 'JWT');
    assert.deepEqual(authorizer.IdentitySource, ['$request.header.Authorization']);
    assert.deepEqual(authorizer.JwtConfiguration, {
      Audience: ['onnx-serve-api'],
      Issuer: 'https://issuer.example.com/',
    });
  });

  it('the stage throttles requests and keeps access logs; bodies are limited in the function', () => {
    const template = templateOf(DEFAULTS);
    const stage = props(resource(template, 'HttpApiStage'));
    const http = props(resource(template, 'HttpLambdaFunction'));

    assert.equal(at(stage, 'DefaultRouteSettings', 'ThrottlingRateLimit'), 100);
    assert.equal(at(stage, 'DefaultRouteSettings', 'ThrottlingBurstLimit'), 200);
    assert.equal(render(at(stage, 'AccessLogSettings', 'DestinationArn')), ref('HttpApiLogGroup.Arn'));
    assert.equal(at(http, 'Environment', 'Variables', 'MAX_BODY_BYTES'), String(6 * 1024 * 1024));
  });
});

describe('bucket', () => {
  for (const variant of [DEFAULTS, SWITCHED]) {
    it(`named after stage, account and region; kept when the stack goes (${variant.label})`, () => {
      const bucket = resource(templateOf(variant), 'ModelBucket', 'AWS::S3::Bucket');

      assert.equal(props(bucket).BucketName, bucketName(variant));
      assert.equal(bucket.DeletionPolicy, 'Retain');
    });
  }

  it('encrypted, public access blocked, versioned, owner-enforced', () => {
    const bucket = props(resource(templateOf(DEFAULTS), 'ModelBucket'));

    assert.equal(
      at(
        bucket,
        'BucketEncryption',
        'ServerSideEncryptionConfiguration',
        0,
        'ServerSideEncryptionByDefault',
        'SSEAlgorithm',
      ),
      'AES256',
    );
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.equal(at(bucket, 'VersioningConfiguration', 'Status'), 'Enabled');
    assert.equal(at(bucket, 'OwnershipControls', 'Rules', 0, 'ObjectOwnership'), 'BucketOwnerEnforced');
  });

  it('lifecycle: captures and batch outputs expire, incomplete uploads are aborted', () => {
    const rules = at(
      props(resource(templateOf(DEFAULTS), 'ModelBucket')),
      'LifecycleConfiguration',
      'Rules',
    ) as {
      Prefix?: string;
      Status: string;
      ExpirationInDays?: number;
      AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
    }[];
    const byPrefix = (prefix: string) => rules.find((rule) => rule.Prefix === prefix);

    assert.equal(byPrefix('captures/')?.ExpirationInDays, 90);
    assert.equal(byPrefix('batch/output/')?.ExpirationInDays, 30);
    assert.ok(rules.every((rule) => rule.Status === 'Enabled'));
    assert.ok(rules.some((rule) => rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation === 1));
    assert.ok(
      !rules.some((rule) => rule.Prefix === 'models/' || rule.Prefix === 'outcomes/'),
      'models and outcomes are kept',
    );
  });

  it('TLS-only policy: plain HTTP and TLS below 1.2 are denied on the bucket and its objects', () => {
    const policy = props(resource(templateOf(DEFAULTS), 'ModelBucketPolicy', 'AWS::S3::BucketPolicy'));
    const statements = list(at(policy, 'PolicyDocument', 'Statement') as Record<string, unknown>[]);
    const insecure = statements.find(
      (statement) => at(statement, 'Condition', 'Bool', 'aws:SecureTransport') === 'false',
    );
    const oldTls = statements.find(
      (statement) => at(statement, 'Condition', 'NumericLessThan', 's3:TlsVersion') === '1.2',
    );

    assert.equal(render(policy.Bucket), ref('ModelBucket'));
    for (const statement of [insecure, oldTls]) {
      assert.ok(statement, 'statement present');
      assert.equal(statement.Effect, 'Deny');
      assert.equal(statement.Principal, '*');
      assert.equal(statement.Action, 's3:*');
      assert.deepEqual(
        list(statement.Resource as unknown[])
          .map(render)
          .sort(),
        [ref('ModelBucket.Arn'), `${ref('ModelBucket.Arn')}/*`],
      );
    }
  });
});

describe('IAM', () => {
  for (const variant of [DEFAULTS, SWITCHED]) {
    it(`every statement is scoped: no wildcard action, no "*" or bucket-wide S3 resource (${variant.label})`, () => {
      const statements = identityStatements(templateOf(variant));

      assert.ok(statements.length > 20, `${statements.length} statements examined`);
      assert.deepEqual(findPolicyViolations(statements), []);
    });
  }

  it('each role holds exactly its grants, for its own service principal', () => {
    const template = templateOf(DEFAULTS);
    const expected = roleGrants('dev');
    const roles = resourcesOfType(template, 'AWS::IAM::Role').map(([id]) => id);

    assert.deepEqual(roles.sort(), Object.keys(expected).sort());
    for (const [id, { principal, grants }] of Object.entries(expected)) {
      const role = props(resource(template, id));
      const trust = list(at(role, 'AssumeRolePolicyDocument', 'Statement') as Record<string, unknown>[]);
      assert.deepEqual(
        trust.flatMap((statement) => list(at(statement, 'Principal', 'Service') as string | string[])),
        [principal],
        `${id} trust`,
      );
      assert.deepEqual(actualGrants(template, id), sortGrants(grants), id);
    }
  });

  it('each function runs with its own role', () => {
    const template = templateOf(DEFAULTS);
    const roles = FUNCTIONS.map((row) => render(props(resource(template, row.logicalId)).Role));

    assert.equal(new Set(roles).size, FUNCTIONS.length);
  });
});

/** A role's grants as action → sorted rendered resources (ListBucket with its prefixes). */
function actualGrants(template: Template, roleId: string): Record<string, string[]> {
  const grants: Record<string, string[]> = {};
  for (const { origin, statement } of identityStatements(template)) {
    if (!origin.startsWith(`${roleId}/`) || statement.Effect !== 'Allow') continue;
    const prefixes = list(statement.Condition?.StringLike?.['s3:prefix'] as string | string[] | undefined);
    for (const action of statementActions(statement)) {
      for (const target of statementResources(statement)) {
        const rendered =
          action === 's3:ListBucket' ? prefixes.map((prefix) => `${target} (prefix ${prefix})`) : [target];
        grants[action] = [...(grants[action] ?? []), ...rendered];
      }
    }
  }
  return sortGrants(grants);
}

function sortGrants(grants: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(grants)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([action, targets]) => [action, [...targets].sort()]),
  );
}

describe('failure queue', () => {
  it('encrypted, keeps failed events 14 days, and is what the async functions fail to', () => {
    const template = templateOf(DEFAULTS);
    const queue = props(resource(template, 'AsyncFailureQueue', 'AWS::SQS::Queue'));
    const destinations = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').map(([, value]) =>
      render(at(props(value), 'DestinationConfig', 'OnFailure', 'Destination')),
    );

    assert.equal(queue.SqsManagedSseEnabled, true);
    assert.equal(queue.MessageRetentionPeriod, 14 * 24 * 3600);
    assert.deepEqual(
      destinations.sort(),
      FUNCTIONS.filter((row) => row.async)
        .map((row) => row.failureDestination ?? ref('AsyncFailureQueue.Arn'))
        .sort(),
    );
  });
});

describe('capture pipeline', () => {
  const pipeline = (template: Template) => {
    const filter = props(resource(template, 'CaptureSubscriptionFilter', 'AWS::Logs::SubscriptionFilter'));
    const stream = props(resource(template, 'CaptureDeliveryStream', 'AWS::KinesisFirehose::DeliveryStream'));
    const destination = stream.ExtendedS3DestinationConfiguration as Record<string, unknown>;
    const processors = list(
      at(destination, 'ProcessingConfiguration', 'Processors') as Record<string, unknown>[],
    );
    const parameter = (type: string, name: string) =>
      list(
        processors.find((processor) => processor.Type === type)?.Parameters as Record<string, string>[],
      ).find((entry) => entry.ParameterName === name)?.ParameterValue;
    return { filter, stream, destination, processors, parameter };
  };

  it('the http log group → subscription filter → Firehose → the bucket, each with its role', () => {
    const { filter, stream, destination } = pipeline(templateOf(DEFAULTS));

    assert.equal(render(filter.LogGroupName), ref('HttpLogGroup'));
    assert.equal(render(filter.DestinationArn), ref('CaptureDeliveryStream.Arn'));
    assert.equal(render(filter.RoleArn), ref('CaptureSubscriptionRole.Arn'));
    assert.equal(stream.DeliveryStreamType, 'DirectPut');
    assert.equal(render(destination.BucketARN), ref('ModelBucket.Arn'));
    assert.equal(render(destination.RoleARN), ref('CaptureDeliveryRole.Arn'));
    assert.equal(at(destination, 'DynamicPartitioningConfiguration', 'Enabled'), true);
    assert.equal(destination.CompressionFormat, 'GZIP');
    assert.match(String(destination.ErrorOutputPrefix), /^capture-errors\/!\{firehose:error-output-type\}\//);
  });

  it('decompresses, extracts messages, splits them, partitions, delimits — in that order', () => {
    const { processors, parameter } = pipeline(templateOf(DEFAULTS));

    assert.deepEqual(
      processors.map((processor) => processor.Type),
      [
        'Decompression',
        'CloudWatchLogProcessing',
        'RecordDeAggregation',
        'MetadataExtraction',
        'AppendDelimiterToRecord',
      ],
    );
    assert.equal(parameter('Decompression', 'CompressionFormat'), 'GZIP');
    assert.equal(parameter('CloudWatchLogProcessing', 'DataMessageExtraction'), 'true');
    assert.equal(parameter('RecordDeAggregation', 'SubRecordType'), 'JSON');
    assert.equal(parameter('MetadataExtraction', 'JsonParsingEngine'), 'JQ-1.6');
  });

  it("turns the http function's capture log line into captures/{model}/{yyyy}/{MM}/{dd}/{HH}/", async () => {
    const { filter, destination, parameter } = pipeline(templateOf(DEFAULTS));
    const ts = new Date('2026-03-04T05:06:07.891Z');
    const record = createCaptureRecord({
      id: 'req-1',
      ts,
      model: 'iris',
      version: '2',
      source: 'api',
      inputs: { sepal_length_cm: 5.1 },
      outputs: [captureTensor({ name: 'label', datatype: 'INT64', shape: [1], data: [0n] })],
      latencyMs: 0.4,
    });
    const captureLine = formatCaptureLine(record, SERVICE);
    const requestLine = await loggedLine((logger) => logger.info('request', { model: 'iris', status: 200 }));
    const emfLine = JSON.stringify({
      _aws: { Timestamp: 0, CloudWatchMetrics: [] },
      service: SERVICE,
      Requests: 1,
    });
    const pattern = String(filter.FilterPattern);

    const keys = partitionKeys(
      String(parameter('MetadataExtraction', 'MetadataExtractionQuery')),
      JSON.parse(captureLine),
    );
    const prefix = expandPrefix(String(destination.Prefix), keys);

    assert.equal(pattern, CAPTURE_FILTER_PATTERN, 'the pattern the http function writes its captures for');
    assert.equal(matchesFilterPattern(pattern, captureLine), true, 'the capture line is shipped');
    assert.equal(matchesFilterPattern(pattern, requestLine), false, 'other log lines are not');
    assert.equal(matchesFilterPattern(pattern, emfLine), false, 'metrics are not');
    assert.ok(
      prefix.startsWith(captureFolder('iris', ts)),
      `${prefix} is under ${captureFolder('iris', ts)}`,
    );
  });

  it('captures of the API and of batch scoring share the folder, not the file names', () => {
    const { destination } = pipeline(templateOf(DEFAULTS));

    assert.match(String(destination.Prefix), /\/api-$/);
  });
});

/** The JSON line a Powertools logger writes for `log` (the handlers' request logs). */
async function loggedLine(log: (logger: Logger) => void): Promise<string> {
  const logger = new Logger({ serviceName: SERVICE });
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    log(logger);
  } finally {
    process.stdout.write = write;
  }
  const line = lines.join('').trim();
  assert.ok(line.startsWith('{'), `a JSON log line: ${line}`);
  return line;
}

describe('alarms', () => {
  const template = () => templateOf(DEFAULTS);

  for (const row of ALARMS) {
    it(row.id, () => {
      const alarm = props(resource(template(), row.id, 'AWS::CloudWatch::Alarm'));

      assert.deepEqual(list(alarm.AlarmActions as unknown[]).map(render), [ref('AlarmTopic')]);
      if ('expression' in row) {
        const metrics = list(alarm.Metrics as Record<string, unknown>[]);
        const returned = metrics.filter((metric) => metric.ReturnData === true);
        assert.equal(returned.length, 1);
        assert.match(String(returned[0]?.Expression), row.expression);
        for (const [id, { namespace, metric }] of Object.entries(row.metrics)) {
          const stat = metrics.find((entry) => entry.Id === id)?.MetricStat;
          assert.equal(at(stat, 'Metric', 'Namespace'), namespace, id);
          assert.equal(at(stat, 'Metric', 'MetricName'), metric, id);
          assert.deepEqual(at(stat, 'Metric', 'Dimensions'), [{ Name: 'service', Value: SERVICE }], id);
        }
      } else {
        assert.equal(alarm.Namespace, row.namespace);
        assert.equal(alarm.MetricName, row.metric);
        assert.equal(alarm.ExtendedStatistic ?? alarm.Statistic, row.statistic);
        const dimensions = list(alarm.Dimensions as { Name: string; Value: unknown }[]);
        assert.deepEqual(
          Object.fromEntries(dimensions.map((dimension) => [dimension.Name, render(dimension.Value)])),
          row.dimensions,
        );
      }
    });
  }

  it('no alarm without an expectation', () => {
    const ids = resourcesOfType(template(), 'AWS::CloudWatch::Alarm').map(([id]) => id);

    assert.deepEqual(ids.sort(), ALARMS.map((row) => row.id).sort());
  });

  it('an alarm address subscribes to alarms and drift events only when given', () => {
    const condition = (variant: Variant) =>
      at(templateOf(variant), 'Conditions', 'HasAlarmEmail', 'Fn::Not', 0, 'Fn::Equals');
    const subscriptions = resourcesOfType(templateOf(SWITCHED), 'AWS::SNS::Subscription');

    assert.deepEqual(condition(DEFAULTS), ['', '']);
    assert.deepEqual(condition(SWITCHED), [SWITCHED.alarmEmail, '']);
    assert.deepEqual(subscriptions.map(([, value]) => render(props(value).TopicArn)).sort(), [
      ref('AlarmTopic'),
      ref('DriftTopic'),
    ]);
    for (const [, value] of subscriptions) {
      assert.equal(value.Condition, 'HasAlarmEmail');
      assert.equal(props(value).Endpoint, SWITCHED.alarmEmail);
    }
  });
});

describe('dashboard', () => {
  const dashboard = () => {
    const body = render(
      props(resource(templateOf(DEFAULTS), 'OperationsDashboard', 'AWS::CloudWatch::Dashboard'))
        .DashboardBody,
    );
    // Fn::Sub variables become placeholders; what is left must be JSON.
    return JSON.parse(body.replace(/\$\{([^}]+)\}/g, 'SUB($1)')) as {
      widgets: { type: string; properties: { metrics?: unknown[][]; alarms?: string[] } }[];
    };
  };

  it('shows every metric of the README table', async () => {
    const shown = new Set<string>();
    for (const widget of dashboard().widgets) {
      for (const line of widget.properties.metrics ?? []) {
        if (line[0] === NAMESPACE && typeof line[1] === 'string') shown.add(line[1]);
        const expression = at(line, 0, 'expression');
        if (typeof expression === 'string') {
          for (const [, name] of expression.matchAll(/MetricName="([^"]+)"/g)) shown.add(name ?? '');
        }
      }
    }

    const missing = (await readmeMetrics()).filter((name) => !shown.has(name));
    assert.deepEqual(missing, [], 'README metrics missing from OperationsDashboard in serverless.yml');
  });

  it('lists every alarm', () => {
    const alarms = dashboard().widgets.flatMap((widget) => widget.properties.alarms ?? []);

    assert.deepEqual(alarms.sort(), ALARMS.map((row) => `SUB(${row.id}.Arn)`).sort());
  });
});

/** Metric names of the README's metrics table (`Error<Kind>` expands to the kinds it lists). */
async function readmeMetrics(): Promise<string[]> {
  const lines = (await readFile(join(ROOT, 'README.md'), 'utf8')).split('\n');
  const header = lines.findIndex((line) => /^\|\s*metric\s*\|/.test(line));
  assert.ok(header >= 0, 'the README has a metrics table');
  const names: string[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = /^\|\s*(`[^|]+)\|[^|]*\|(.*)\|\s*$/.exec(line);
    if (!cells) continue;
    for (const [, name] of (cells[1] ?? '').matchAll(/`([A-Za-z0-9<>]+)`/g)) {
      if (name?.includes('<')) {
        for (const [, kind] of (cells[2] ?? '').matchAll(/`(Error[A-Za-z]+)`/g)) names.push(kind ?? '');
      } else if (name) {
        names.push(name);
      }
    }
  }
  assert.ok(names.includes('RequestTime'), 'the README metrics table was found');
  return names;
}

describe('drift events', () => {
  it('ModelDriftDetected events of the service go to the drift topic, which only that rule may publish to', () => {
    const template = templateOf(DEFAULTS);
    const rule = props(resource(template, 'DriftDetectedRule', 'AWS::Events::Rule'));
    const policy = props(resource(template, 'DriftTopicPolicy', 'AWS::SNS::TopicPolicy'));
    const [statement, ...others] = list(
      at(policy, 'PolicyDocument', 'Statement') as Record<string, unknown>[],
    );

    assert.deepEqual(rule.EventPattern, {
      source: [DRIFT_EVENT.source],
      'detail-type': [DRIFT_EVENT.detailType],
    });
    assert.equal(rule.EventBusName, 'default');
    assert.deepEqual(
      list(rule.Targets as unknown[]).map((target) => render(at(target, 'Arn'))),
      [ref('DriftTopic')],
    );
    assert.equal(others.length, 0);
    assert.equal(at(statement, 'Principal', 'Service'), 'events.amazonaws.com');
    assert.equal(at(statement, 'Action'), 'sns:Publish');
    assert.equal(
      render(at(statement, 'Condition', 'ArnEquals', 'aws:SourceArn')),
      ref('DriftDetectedRule.Arn'),
    );
  });
});

describe('artifacts', () => {
  for (const variant of [DEFAULTS, SWITCHED]) {
    it(`the layer is built for ${variant.architecture} and its zip is within budget`, () => {
      const result = resultOf(variant);
      const layer = props(
        resource(templateOf(variant), 'OnnxruntimeLambdaLayer', 'AWS::Lambda::LayerVersion'),
      );
      const zip = result.artifacts.find((artifact) => artifact.name === 'onnxruntime.zip');

      assert.deepEqual(layer.CompatibleArchitectures, [variant.architecture]);
      assert.deepEqual(layer.CompatibleRuntimes, [variant.runtime]);
      assert.equal(result.layer.architecture, variant.architecture);
      assert.ok(zip, 'onnxruntime.zip');
      const budget = LAYER_ZIPPED_BUDGET_BYTES[variant.architecture];
      assert.ok(zip.bytes <= budget, `${zip.bytes} bytes zipped, budget ${budget}`);
      // The size build-layer reports is the size of the zip osls writes, within 1 %.
      assert.ok(
        Math.abs(result.layer.zippedBytes - zip.bytes) / zip.bytes < 0.01,
        `${result.layer.zippedBytes} vs ${zip.bytes}`,
      );
    });
  }

  it('every handler bundle and function zip is within 1 MiB', () => {
    const result = resultOf(DEFAULTS);
    const functionZips = result.artifacts.filter((artifact) =>
      FUNCTIONS.some((row) => artifact.name === `${row.name}.zip`),
    );

    assert.equal(functionZips.length, FUNCTIONS.length);
    for (const item of [...result.bundles, ...functionZips]) {
      assert.ok(item.bytes <= BUNDLE_BUDGET_BYTES, `${item.name}: ${item.bytes} bytes`);
    }
  });
});

describe('batch fan-out state machine', () => {
  it('is the definition of statemachines/, its Tasks the batch function, run by its own role', async () => {
    const machine = props(
      resource(templateOf(DEFAULTS), 'BatchFanOutStateMachine', 'AWS::StepFunctions::StateMachine'),
    );
    const file = JSON.parse(
      await readFile(join(ROOT, 'statemachines', 'batch-fan-out.asl.json'), 'utf8'),
    ) as unknown;

    assert.deepEqual(machine.Definition, file);
    assert.equal(machine.StateMachineType, 'STANDARD');
    assert.equal(machine.StateMachineName, `${SERVICE}-${DEFAULTS.stage}-batch-fan-out`);
    assert.equal(render(machine.RoleArn), ref('BatchFanOutRole.Arn'));
    assert.equal(
      render(at(machine, 'DefinitionSubstitutions', 'BatchFunctionArn')),
      ref('BatchLambdaFunction.Arn'),
    );
    const batch = props(resource(templateOf(DEFAULTS), 'BatchLambdaFunction'));
    assert.equal(
      render(at(batch, 'Environment', 'Variables', 'BATCH_STATE_MACHINE_ARN')),
      `arn:${ref('AWS::Partition')}:states:${ref('AWS::Region')}:${ref('AWS::AccountId')}:stateMachine:${SERVICE}-${DEFAULTS.stage}-batch-fan-out`,
    );
  });
});
