/**
 * The metrics each part of the pipeline emits, computed from what it already knows (pure). The
 * adapter (functions/lib/aws/metrics.ts) adds the service and Stage dimensions and writes them in the
 * embedded metric format; names and dimensions are the contracts' METRIC_NAMES.
 */
import { METRIC_DIMENSIONS, METRIC_NAMES, type MetricName } from '../contracts';
import type { RunDocument } from './notification';

export interface MetricPoint {
  name: MetricName;
  unit: 'Count' | 'Seconds' | 'None';
  value: number;
  /** Dimensions besides service and Stage. */
  dimensions?: Record<string, string>;
}

const DAY_MS = 86_400_000;

function seconds(from: string | Date | undefined, to: Date): number | undefined {
  const start = from === undefined ? NaN : new Date(from).getTime();
  return Number.isFinite(start) && to.getTime() >= start ? Math.round((to.getTime() - start) / 1000) : undefined;
}

/** At a run's end (notify): its outcome, the clusters rolled and rolled back, and each confirmed cluster's roll time. */
export function runEndMetrics(doc: Pick<RunDocument, 'outcome' | 'rollout'>): MetricPoint[] {
  const points: MetricPoint[] = [
    { name: METRIC_NAMES.runsEnded, unit: 'Count', value: 1, dimensions: { [METRIC_DIMENSIONS.status]: doc.outcome.status } },
  ];
  const results = (doc.rollout?.waves ?? []).flatMap((w) => w.results);
  if (results.length) {
    points.push({ name: METRIC_NAMES.clustersRolled, unit: 'Count', value: results.filter((r) => r.status === 'ROLLED').length });
    points.push({ name: METRIC_NAMES.clustersRolledBack, unit: 'Count', value: results.filter((r) => r.status === 'ROLLED_BACK').length });
  }
  for (const result of results.filter((r) => r.status === 'ROLLED')) {
    const took = seconds(result.startedAt, new Date(result.finishedAt));
    if (took !== undefined) {
      points.push({ name: METRIC_NAMES.rolloutDuration, unit: 'Seconds', value: took, dimensions: { [METRIC_DIMENSIONS.cluster]: result.stackName } });
    }
  }
  return points;
}

/** An abnormal end (run-ended's alert): counted with the execution's status, so no end goes uncounted. */
export function abnormalEndMetrics(status: string): MetricPoint[] {
  return [{ name: METRIC_NAMES.runsEnded, unit: 'Count', value: 1, dimensions: { [METRIC_DIMENSIONS.status]: status } }];
}

/** When the image is recorded (record-baked-ami): how long the run took to bake it. */
export function bakeMetrics(runStartedAt: string | undefined, now: Date): MetricPoint[] {
  const took = seconds(runStartedAt, now);
  return took === undefined ? [] : [{ name: METRIC_NAMES.bakeDuration, unit: 'Seconds', value: took }];
}

/** When a rollout promotes (promote-ami): the exposure window, from the base AMI's creation to now. */
export function patchedFleetMetrics(baseCreatedAt: string | undefined, now: Date): MetricPoint[] {
  const took = seconds(baseCreatedAt, now);
  return took === undefined ? [] : [{ name: METRIC_NAMES.timeToPatchedFleet, unit: 'Seconds', value: took }];
}

/**
 * Daily (the retention pass): the age of the image each configured cluster last confirmed, the
 * oldest of them, and the days since ami/current last changed. A cluster whose image is
 * unknown (never confirmed, or the image is gone) is left out of the ages, not counted as young.
 */
export function fleetAgeMetrics(
  clusters: { stackName: string; amiId?: string }[],
  imageCreatedAt: (amiId: string) => Date | undefined,
  lastPromotedAt: string | undefined,
  now: Date,
): MetricPoint[] {
  const points: MetricPoint[] = [];
  const ages: number[] = [];
  for (const cluster of clusters) {
    const created = cluster.amiId ? imageCreatedAt(cluster.amiId) : undefined;
    if (!created) continue;
    const days = Math.max(0, (now.getTime() - created.getTime()) / DAY_MS);
    ages.push(days);
    points.push({ name: METRIC_NAMES.clusterImageAge, unit: 'None', value: round(days), dimensions: { [METRIC_DIMENSIONS.cluster]: cluster.stackName } });
  }
  if (ages.length) points.push({ name: METRIC_NAMES.oldestClusterImageAge, unit: 'None', value: round(Math.max(...ages)) });
  const since = lastPromotedAt === undefined ? NaN : new Date(lastPromotedAt).getTime();
  if (Number.isFinite(since)) points.push({ name: METRIC_NAMES.daysSinceLastPromotion, unit: 'None', value: round(Math.max(0, (now.getTime() - since) / DAY_MS)) });
  return points;
}

function round(days: number): number {
  return Math.round(days * 100) / 100;
}
