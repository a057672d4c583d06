import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** Service name: the `service` dimension of every metric and a key of every log line. */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME ?? 'onnx-serve';
/** CloudWatch namespace of the EMF metrics. */
export const METRICS_NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'OnnxServe';

/** One logger and one metrics buffer per function instance, shared by everything in it. */
export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ serviceName: SERVICE_NAME, namespace: METRICS_NAMESPACE });
