import { Metrics } from '@aws-lambda-powertools/metrics';
import { LAMBDA_ENV, METRIC_DIMENSIONS, METRICS_NAMESPACE, SERVICE_NAME } from '../contracts';
import type { MetricPoint } from '../decisions/metrics';

/**
 * Writes the points to the function's log in CloudWatch's embedded metric format (Powertools
 * Metrics): CloudWatch turns them into metrics with no API call and no extra permission. Points with
 * their own dimensions (a cluster, a status) are written one by one; the rest share one record.
 * POWERTOOLS_METRICS_DISABLED=true turns it off (the tests do). The stage is the functions' STAGE
 * (serverless.yml sets it on every function); a metric never fails the work it describes.
 */
export function publishMetrics(points: MetricPoint[], stage = process.env[LAMBDA_ENV.stage] || 'unknown'): void {
  if (!points.length) return;
  const options = {
    namespace: METRICS_NAMESPACE,
    serviceName: process.env.SERVICE_NAME ?? SERVICE_NAME,
    defaultDimensions: { [METRIC_DIMENSIONS.stage]: stage },
  };
  const metrics = new Metrics(options);
  let shared = 0;
  for (const point of points) {
    if (point.dimensions && Object.keys(point.dimensions).length) {
      const single = metrics.singleMetric();
      single.addDimensions(point.dimensions);
      single.addMetric(point.name, point.unit, point.value);
    } else {
      metrics.addMetric(point.name, point.unit, point.value);
      shared += 1;
    }
  }
  if (shared) metrics.publishStoredMetrics();
}
