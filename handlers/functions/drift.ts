import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { EventBridgePublisher } from '../../src/adapters/aws/eventbridge-publisher.ts';
import { FileEventPublisher } from '../../src/adapters/file/file-event-publisher.ts';
import { type DriftCheckConfig, readDriftCheckConfig } from '../../src/config/drift-check-config.ts';
import type { Env } from '../../src/config/env.ts';
import { parseDriftInvocation, planDriftRun } from '../../src/drift/check/invocation.ts';
import { type ModelRunOutcome, runDriftChecks } from '../../src/drift/check/run.ts';
import type { DriftEventPublisher } from '../../src/ports/drift-event-publisher.ts';
import type { StreamingObjectStore } from '../../src/ports/object-store.ts';
import { bucketStore } from '../commons/clients.ts';
import { partialFailure, remainingMsOf } from '../commons/invocation.ts';
import { logger, metrics } from '../commons/powertools.ts';

/** Performance metric names in the report → EMF metric names. */
const PERFORMANCE_METRICS: Record<string, string> = {
  accuracy: 'Accuracy',
  precision_macro: 'PrecisionMacro',
  recall_macro: 'RecallMacro',
  f1_macro: 'F1Macro',
  roc_auc: 'RocAuc',
  log_loss: 'LogLoss',
  mae: 'Mae',
  rmse: 'Rmse',
  r2: 'R2',
};

/** What one invocation did, per model (a failed model also makes it throw). */
export interface DriftInvocationResult {
  models: {
    model: string;
    status: ModelRunOutcome['status'];
    verdict?: string;
    report?: string;
    event?: boolean;
  }[];
}

export interface DriftHandlerDeps {
  config: DriftCheckConfig;
  store: StreamingObjectStore;
  publisher: DriftEventPublisher;
  now?: () => Date;
}

/**
 * The drift function: scheduled event (or `{ models, window_hours }`) → the drift check of each
 * model, its reports and event, and its metrics. A model that fails is logged and counted, the
 * others go on, and the invocation fails at the end so that the failure shows.
 *
 * @example
 * ```ts
 * const handler = createDriftHandler({ config, store, publisher: { publish: async (d) => events.push(d) } });
 * await handler({ 'detail-type': 'Scheduled Event', detail: {} }, context);
 * ```
 */
export function createDriftHandler(deps: DriftHandlerDeps) {
  async function driftHandler(event: unknown, context: Context): Promise<DriftInvocationResult> {
    const invocation = parseDriftInvocation(event);
    const plan = planDriftRun(invocation, {
      incremental: deps.config.incremental,
      deadlineMarginMs: deps.config.deadlineMarginMs,
      remainingMs: remainingMsOf(context),
    });
    const { end } = plan;
    const outcomes = await runDriftChecks({
      store: deps.store,
      publisher: deps.publisher,
      models: plan.models,
      windowHours: plan.windowHours,
      defaults: deps.config.defaults,
      concurrency: deps.config.concurrency,
      bucket: deps.config.bucket,
      now: deps.now ?? (end ? () => end : undefined),
      resume: plan.resume,
      summaries: plan.summaries,
      deadline: plan.deadline,
    });
    const failed: { name: string; error: unknown }[] = [];
    for (const [index, outcome] of outcomes.entries()) {
      // One EMF document per model: dimensions apply to the whole buffer.
      if (index > 0 && metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      record(outcome);
      if (outcome.status === 'failed') failed.push({ name: outcome.model, error: outcome.error });
    }
    if (failed.length > 0) throw partialFailure('drift check', 'model', failed, outcomes.length);
    return {
      models: outcomes.map((outcome) =>
        outcome.status === 'checked'
          ? {
              model: outcome.model,
              status: outcome.status,
              verdict: outcome.report.verdict,
              report: outcome.keys.json,
              event: outcome.event,
            }
          : { model: outcome.model, status: outcome.status },
      ),
    };
  }
  return middy(driftHandler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

function record(outcome: ModelRunOutcome): void {
  if (outcome.status === 'skipped') {
    logger.info('drift check skipped', { model: outcome.model, reason: outcome.reason });
    return;
  }
  metrics.addDimensions({});
  if (outcome.status === 'failed') {
    metrics.addDimensions({ model: outcome.model });
    metrics.addMetric('DriftCheckFailures', MetricUnit.Count, 1);
    logger.error('drift check failed', { model: outcome.model, error: outcome.error as Error });
    return;
  }
  const { report, keys } = outcome;
  metrics.addDimensions({ model: report.model, version: report.version ?? 'none' });
  metrics.addMetric('DriftCheckFailures', MetricUnit.Count, 0);
  metrics.addMetric('DriftPredictions', MetricUnit.Count, report.counts.predictions);
  metrics.addMetric('DriftedFeatures', MetricUnit.Count, report.data_drift.drifted_features.length);
  if (report.data_drift.max_psi !== null) {
    metrics.addMetric('MaxDriftScore', MetricUnit.NoUnit, report.data_drift.max_psi);
  }
  metrics.addMetric('DatasetDrift', MetricUnit.Count, report.verdict === 'drift' ? 1 : 0);
  metrics.addMetric(
    'PredictionDrift',
    MetricUnit.Count,
    report.prediction_drift?.verdict === 'drift' ? 1 : 0,
  );
  metrics.addMetric('DriftDetected', MetricUnit.Count, report.alert.raised ? 1 : 0);
  const estimated = report.estimated_performance;
  if (estimated.verdict === 'ok' || estimated.verdict === 'degraded') {
    const names = {
      accuracy: 'EstimatedAccuracy',
      f1_macro: 'EstimatedF1Macro',
      roc_auc: 'EstimatedRocAuc',
    } as const;
    for (const [name, metric] of Object.entries(names)) {
      const value = estimated.metrics[name as keyof typeof names]?.estimate;
      if (typeof value === 'number' && Number.isFinite(value))
        metrics.addMetric(metric, MetricUnit.NoUnit, value);
    }
    metrics.addMetric(
      'EstimatedPerformanceDegraded',
      MetricUnit.Count,
      estimated.verdict === 'degraded' ? 1 : 0,
    );
  }
  const multivariate = report.multivariate_drift;
  if (multivariate.statistic !== null) {
    metrics.addMetric('ReconstructionError', MetricUnit.NoUnit, multivariate.statistic);
    metrics.addMetric('MultivariateDrift', MetricUnit.Count, multivariate.verdict === 'drift' ? 1 : 0);
  }
  const quality = report.data_quality;
  if (quality.verdict !== 'no_reference') {
    metrics.addMetric('DataQualityFailingFeatures', MetricUnit.Count, quality.failing_features.length);
    metrics.addMetric('DataQualityFail', MetricUnit.Count, quality.verdict === 'fail' ? 1 : 0);
    let worstMissing = 0;
    for (const feature of quality.features) {
      const missing = feature.checks.find((check) => check.name === 'missing');
      if (missing !== undefined && missing.share > worstMissing) worstMissing = missing.share;
    }
    metrics.addMetric('MaxMissingShare', MetricUnit.Percent, worstMissing * 100);
  }
  metrics.addMetric('OutcomeCoverage', MetricUnit.Percent, report.outcomes.coverage * 100);
  if (report.outcomes.delay_seconds.p90 !== null) {
    metrics.addMetric('OutcomeDelayP90', MetricUnit.Seconds, report.outcomes.delay_seconds.p90);
  }
  for (const [name, value] of Object.entries(report.performance.metrics)) {
    const metric = PERFORMANCE_METRICS[name];
    if (metric !== undefined && value !== null && Number.isFinite(value)) {
      metrics.addMetric(metric, MetricUnit.NoUnit, value);
    }
  }
  const fields = {
    model: report.model,
    version: report.version,
    verdict: report.verdict,
    predictionVerdict: report.prediction_drift?.verdict ?? null,
    performanceVerdict: report.performance.verdict,
    predictions: report.counts.predictions,
    driftedFeatures: report.data_drift.drifted_features,
    outcomeCoverage: report.outcomes.coverage,
    report: keys.json,
    html: keys.html,
    alert: report.alert.reasons,
    event: outcome.event,
  };
  if (report.alert.raised) logger.warn('model drift detected', fields);
  else logger.info('drift check', fields);
}

/** The default wiring from the environment (`readDriftCheckConfig`): S3, and EventBridge or an events file. */
export function driftDepsFromEnv(env: Env): DriftHandlerDeps {
  const config = readDriftCheckConfig(env);
  // A capture object streams for a while; an API-sized timeout would cut it.
  const store = bucketStore(config, { requestTimeoutMs: 60_000, socketTimeoutMs: 60_000 });
  const publisher = config.eventsFile
    ? new FileEventPublisher(config.eventsFile)
    : new EventBridgePublisher({ eventBusName: config.eventBusName, region: config.region });
  return { config, store, publisher };
}
