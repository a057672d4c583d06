/**
 * What the packaged stack must contain, as tables: one row per function, per role, per alarm.
 * Adding a function (the scheduled `drift` check) is one row in FUNCTIONS: its errors alarm is
 * expected from the row, its role's grants are in roleGrants() already.
 */

export const SERVICE = 'onnx-serve';
export const NAMESPACE = 'OnnxServe';
export const DRIFT_EVENT = {
  source: SERVICE,
  detailType: 'ModelDriftDetected',
  metric: 'DriftDetected',
} as const;

/** Variables every function gets from the provider. */
export const COMMON_ENVIRONMENT = [
  'MODEL_BUCKET',
  'POWERTOOLS_LOG_LEVEL',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_SERVICE_NAME',
] as const;

export type FunctionEvents =
  | { kind: 'httpApi' }
  | { kind: 's3'; rules: { Prefix?: string; Suffix?: string }[] }
  | { kind: 'schedule'; expression: string }
  /** Invoked by another function's asynchronous failure destination only. */
  | { kind: 'destination'; of: string };

export interface FunctionRow {
  /** The key under `functions:` in serverless.yml. */
  name: string;
  /** CloudFormation logical id of the function. */
  logicalId: string;
  handler: string;
  role: string;
  /** Default memory (MB): `params.default` of serverless.yml. */
  memory: number;
  timeout: number;
  /** Runs models: gets the onnxruntime layer. */
  layer: boolean;
  /** The function's own variables, beyond COMMON_ENVIRONMENT. */
  environment: string[];
  events: FunctionEvents;
  /** Invoked asynchronously: failure destination and bounded retries. */
  async: boolean;
  /** Where failed asynchronous invocations go (default the failure queue). */
  failureDestination?: string;
  errorsAlarm: string;
}

/** How the tests render `Ref` / `Fn::GetAtt`, and how `Fn::Sub` names a variable: `${X}`. */
export const ref = (name: string): string => `\${${name}}`;

export const ASYNC_INVOKE = { maximumEventAge: 3600, maximumRetryAttempts: 2 } as const;

export const FUNCTIONS: readonly FunctionRow[] = [
  {
    name: 'http',
    logicalId: 'HttpLambdaFunction',
    handler: 'dist/http/index.handler',
    role: 'HttpRole',
    memory: 1769,
    timeout: 29,
    layer: true,
    environment: [
      'INFERENCE_DEADLINE_SECONDS',
      'MAX_BODY_BYTES',
      'MODEL_REFRESH_SECONDS',
      'PRELOAD_MODELS',
      'REQUIRE_VALIDATION',
    ],
    events: { kind: 'httpApi' },
    async: false,
    errorsAlarm: 'HttpErrorsAlarm',
  },
  {
    name: 'modelEvents',
    logicalId: 'ModelEventsLambdaFunction',
    handler: 'dist/model-events/index.handler',
    role: 'ModelEventsRole',
    memory: 2048,
    timeout: 120,
    layer: true,
    environment: [],
    events: { kind: 's3', rules: [{ Prefix: 'models/' }, { Suffix: '/model.onnx' }] },
    async: true,
    failureDestination: ref('ValidationFailuresLambdaFunction.Arn'),
    errorsAlarm: 'ModelEventsErrorsAlarm',
  },
  {
    name: 'validationFailures',
    logicalId: 'ValidationFailuresLambdaFunction',
    handler: 'dist/validation-failures/index.handler',
    role: 'ValidationFailuresRole',
    memory: 512,
    timeout: 300,
    layer: false,
    environment: [],
    events: { kind: 'destination', of: 'ModelEventsLambdaFunction' },
    async: true,
    errorsAlarm: 'ValidationFailuresErrorsAlarm',
  },
  {
    name: 'batch',
    logicalId: 'BatchLambdaFunction',
    handler: 'dist/batch/index.handler',
    role: 'BatchRole',
    memory: 3008,
    timeout: 900,
    layer: true,
    environment: [
      'BATCH_FAN_OUT_MB',
      'BATCH_RANGE_MB',
      'BATCH_SIZE',
      'BATCH_STATE_MACHINE_ARN',
      'INFERENCE_DEADLINE_SECONDS',
      'REQUIRE_VALIDATION',
    ],
    events: { kind: 's3', rules: [{ Prefix: 'batch/input/' }] },
    async: true,
    errorsAlarm: 'BatchErrorsAlarm',
  },
  {
    name: 'drift',
    logicalId: 'DriftLambdaFunction',
    handler: 'dist/drift/index.handler',
    role: 'DriftRole',
    memory: 3008,
    timeout: 900,
    layer: false,
    environment: ['DRIFT_INCREMENTAL', 'DRIFT_WINDOW_HOURS', 'EVENT_BUS_NAME'],
    events: { kind: 'schedule', expression: 'rate(1 hour)' },
    async: true,
    errorsAlarm: 'DriftErrorsAlarm',
  },
];

/** Routes open to anyone; every other route (and `$default`) needs the configured authorizer. */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['GET /v2/health/live', 'GET /v2/health/ready']);

const BUCKET = ref('ModelBucket.Arn');
const ARN = `arn:${ref('AWS::Partition')}`;
const REGION_ACCOUNT = `${ref('AWS::Region')}:${ref('AWS::AccountId')}`;
const LIST = (...prefixes: string[]) => prefixes.map((prefix) => `${BUCKET} (prefix ${prefix})`);

export interface RoleGrants {
  principal: string;
  /** Action → rendered resources, sorted. */
  grants: Record<string, string[]>;
}

/**
 * Every action each role may take, and on what, for a stage: `${X.Arn}` stands for
 * `Fn::GetAtt`, `Fn::Sub` strings are as written, ListBucket shows its `s3:prefix` condition.
 */
export function roleGrants(stage: string): Record<string, RoleGrants> {
  const drift = `${ARN}:logs:${REGION_ACCOUNT}:log-group:/aws/lambda/${SERVICE}-${stage}-drift:*`;
  const stackFunctions = `${ARN}:lambda:${REGION_ACCOUNT}:function:${SERVICE}-${stage}-*`;
  const fanOutMachine = `${ARN}:states:${REGION_ACCOUNT}:stateMachine:${SERVICE}-${stage}-batch-fan-out`;
  const fanOutExecutions = ['/*', ':*'].map(
    (tail) => `${ARN}:states:${REGION_ACCOUNT}:execution:${SERVICE}-${stage}-batch-fan-out${tail}`,
  );
  const customResourceLogs = `${ARN}:logs:${REGION_ACCOUNT}:log-group:/aws/lambda/${SERVICE}-${stage}-custom-resource-*:*`;
  return {
    HttpRole: {
      principal: 'lambda.amazonaws.com',
      grants: {
        'logs:CreateLogStream': [ref('HttpLogGroup.Arn')],
        'logs:PutLogEvents': [ref('HttpLogGroup.Arn')],
        's3:GetObject': [`${BUCKET}/models/*`],
        's3:PutObject': [`${BUCKET}/outcomes/*`],
        's3:ListBucket': LIST('models/*'),
      },
    },
    ModelEventsRole: {
      principal: 'lambda.amazonaws.com',
      grants: {
        'logs:CreateLogStream': [ref('ModelEventsLogGroup.Arn')],
        'logs:PutLogEvents': [ref('ModelEventsLogGroup.Arn')],
        's3:GetObject': [`${BUCKET}/models/*`],
        's3:PutObject': [`${BUCKET}/models/*/metadata.json`],
        's3:ListBucket': LIST('models/*'),
        'lambda:InvokeFunction': [ref('ValidationFailuresLambdaFunction.Arn')],
      },
    },
    ValidationFailuresRole: {
      principal: 'lambda.amazonaws.com',
      grants: {
        'logs:CreateLogStream': [ref('ValidationFailuresLogGroup.Arn')],
        'logs:PutLogEvents': [ref('ValidationFailuresLogGroup.Arn')],
        's3:GetObject': [`${BUCKET}/models/*`],
        's3:PutObject': [`${BUCKET}/models/*/metadata.json`],
        's3:ListBucket': LIST('models/*'),
        'sqs:SendMessage': [ref('AsyncFailureQueue.Arn')],
      },
    },
    BatchRole: {
      principal: 'lambda.amazonaws.com',
      grants: {
        'logs:CreateLogStream': [ref('BatchLogGroup.Arn')],
        'logs:PutLogEvents': [ref('BatchLogGroup.Arn')],
        's3:GetObject': [
          `${BUCKET}/batch/input/*`,
          `${BUCKET}/batch/output/*`,
          `${BUCKET}/batch/work/*`,
          `${BUCKET}/models/*`,
        ],
        's3:PutObject': [`${BUCKET}/batch/output/*`, `${BUCKET}/batch/work/*`, `${BUCKET}/captures/*`],
        's3:DeleteObject': [`${BUCKET}/batch/output/*`, `${BUCKET}/batch/work/*`],
        's3:AbortMultipartUpload': [
          `${BUCKET}/batch/output/*`,
          `${BUCKET}/batch/work/*`,
          `${BUCKET}/captures/*`,
        ],
        's3:ListBucket': LIST('batch/*', 'models/*'),
        'sqs:SendMessage': [ref('AsyncFailureQueue.Arn')],
        'states:StartExecution': [fanOutMachine],
      },
    },
    BatchFanOutRole: {
      principal: 'states.amazonaws.com',
      grants: {
        'lambda:InvokeFunction': [ref('BatchLambdaFunction.Arn'), `${ref('BatchLambdaFunction.Arn')}:*`],
        'states:StartExecution': [fanOutMachine],
        'states:DescribeExecution': fanOutExecutions,
        'states:StopExecution': fanOutExecutions,
      },
    },
    DriftRole: {
      principal: 'lambda.amazonaws.com',
      grants: {
        'logs:CreateLogGroup': [drift],
        'logs:CreateLogStream': [drift],
        'logs:PutLogEvents': [drift],
        's3:GetObject': [
          `${BUCKET}/captures/*`,
          `${BUCKET}/models/*`,
          `${BUCKET}/outcomes/*`,
          `${BUCKET}/reports/*`,
        ],
        's3:PutObject': [`${BUCKET}/reports/*`],
        's3:ListBucket': LIST('captures/*', 'models/*', 'outcomes/*', 'reports/*'),
        'events:PutEvents': [`${ARN}:events:${REGION_ACCOUNT}:event-bus/default`],
      },
    },
    CaptureDeliveryRole: {
      principal: 'firehose.amazonaws.com',
      grants: {
        's3:PutObject': [`${BUCKET}/capture-errors/*`, `${BUCKET}/captures/*`],
        's3:AbortMultipartUpload': [`${BUCKET}/capture-errors/*`, `${BUCKET}/captures/*`],
        's3:GetBucketLocation': [BUCKET],
        's3:ListBucketMultipartUploads': [BUCKET],
        'logs:PutLogEvents': [ref('CaptureDeliveryLogGroup.Arn')],
      },
    },
    CaptureSubscriptionRole: {
      principal: 'logs.amazonaws.com',
      grants: {
        'firehose:PutRecord': [ref('CaptureDeliveryStream.Arn')],
        'firehose:PutRecordBatch': [ref('CaptureDeliveryStream.Arn')],
      },
    },
    IamRoleCustomResourcesLambdaExecution: {
      principal: 'lambda.amazonaws.com',
      grants: {
        's3:GetBucketNotification': [BUCKET],
        's3:PutBucketNotification': [BUCKET],
        'lambda:AddPermission': [stackFunctions],
        'lambda:RemovePermission': [stackFunctions],
        'logs:CreateLogGroup': [customResourceLogs],
        'logs:CreateLogStream': [customResourceLogs],
        'logs:PutLogEvents': [customResourceLogs],
      },
    },
  };
}

export type AlarmRow =
  | {
      id: string;
      namespace: string;
      metric: string;
      /** Dimension name → rendered value. */
      dimensions: Record<string, string>;
      statistic: string;
    }
  | {
      id: string;
      /** Metric math over named metrics of the service dimension. */
      expression: RegExp;
      metrics: Record<string, { namespace: string; metric: string }>;
    };

export const ALARMS: readonly AlarmRow[] = [
  {
    id: 'Http5xxRateAlarm',
    expression: /100 \* errors \/ requests/,
    metrics: {
      errors: { namespace: NAMESPACE, metric: 'Errors5xx' },
      requests: { namespace: NAMESPACE, metric: 'Requests' },
    },
  },
  {
    id: 'HttpLatencyP99Alarm',
    namespace: NAMESPACE,
    metric: 'RequestTime',
    dimensions: { service: SERVICE },
    statistic: 'p99',
  },
  ...FUNCTIONS.map((row) => ({
    id: row.errorsAlarm,
    namespace: 'AWS/Lambda',
    metric: 'Errors',
    dimensions: { FunctionName: ref(row.logicalId) },
    statistic: 'Sum',
  })),
  ...(['ExecutionsFailed', 'ExecutionsTimedOut'] as const).map((metric) => ({
    id: metric === 'ExecutionsFailed' ? 'BatchFanOutFailedAlarm' : 'BatchFanOutTimedOutAlarm',
    namespace: 'AWS/States',
    metric,
    dimensions: { StateMachineArn: ref('BatchFanOutStateMachine') },
    statistic: 'Sum',
  })),
  {
    id: 'AsyncFailureQueueAlarm',
    namespace: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    dimensions: { QueueName: ref('AsyncFailureQueue.QueueName') },
    statistic: 'Maximum',
  },
  {
    id: 'CaptureDeliveryAlarm',
    namespace: 'AWS/Firehose',
    metric: 'DeliveryToS3.Success',
    dimensions: { DeliveryStreamName: ref('CaptureDeliveryStream') },
    statistic: 'Minimum',
  },
  {
    id: 'BatchFileFailuresAlarm',
    namespace: NAMESPACE,
    metric: 'BatchFileFailures',
    dimensions: { service: SERVICE },
    statistic: 'Sum',
  },
  {
    id: 'DriftDetectedAlarm',
    namespace: NAMESPACE,
    metric: DRIFT_EVENT.metric,
    dimensions: { service: SERVICE },
    statistic: 'Sum',
  },
  {
    id: 'DataQualityAlarm',
    namespace: NAMESPACE,
    metric: 'DataQualityFail',
    dimensions: { service: SERVICE },
    statistic: 'Sum',
  },
];
