/**
 * The metrics each path emits (pure), and how the adapter writes them: CloudWatch's embedded metric
 * format, namespace and dimensions as the stack's dashboard and alarms read them.
 */
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../functions/lib/contracts';
import { publishMetrics } from '../../functions/lib/aws/metrics';
import { abnormalEndMetrics, bakeMetrics, fleetAgeMetrics, patchedFleetMetrics, runEndMetrics } from '../../functions/lib/decisions/metrics';
import type { ClusterResult, RolloutState } from '../../functions/lib/decisions/rollout';

const NOW = new Date('2026-11-28T12:00:00.000Z');

function result(stackName: string, status: ClusterResult['status'], startedAt?: string): ClusterResult {
  return { stackName, clusterName: stackName, status, ending: status === 'ROLLED' ? 'rolled' : 'rolled-back', step: 'registration', amiId: 'ami-0new', startedAt, finishedAt: '2026-11-28T11:30:00.000Z' };
}

function rollout(...results: ClusterResult[]): RolloutState {
  return { nextWave: 1, status: 'COMPLETE', waves: [{ name: 'all', results }] };
}

describe('at the end of a run (notify)', () => {
  it('a success counts the run’s end by status, the clusters rolled, and each roll’s time', () => {
    const points = runEndMetrics({
      outcome: { status: 'SUCCEEDED', step: 'promote' },
      rollout: rollout(result('ecs-dev', 'ROLLED', '2026-11-28T11:10:00.000Z'), result('ecs-prod', 'ROLLED', '2026-11-28T11:00:00.000Z')),
    });
    expect(points).toEqual([
      { name: 'RunsEnded', unit: 'Count', value: 1, dimensions: { Status: 'SUCCEEDED' } },
      { name: 'ClustersRolled', unit: 'Count', value: 2 },
      { name: 'ClustersRolledBack', unit: 'Count', value: 0 },
      { name: 'RolloutDurationSeconds', unit: 'Seconds', value: 1200, dimensions: { Cluster: 'ecs-dev' } },
      { name: 'RolloutDurationSeconds', unit: 'Seconds', value: 1800, dimensions: { Cluster: 'ecs-prod' } },
    ]);
  });

  it('a rollback counts the cluster rolled back, and times only confirmed rolls', () => {
    const points = runEndMetrics({
      outcome: { status: 'ROLLED_BACK', step: 'registration' },
      rollout: rollout(result('ecs-dev', 'ROLLED_BACK', '2026-11-28T11:10:00.000Z')),
    });
    expect(points.map((p) => `${p.name}=${p.value}`)).toEqual(['RunsEnded=1', 'ClustersRolled=0', 'ClustersRolledBack=1']);
    expect(points[0]!.dimensions).toEqual({ Status: 'ROLLED_BACK' });
  });

  it('a run that ended before any rollout (a failed bake, a rejected request) counts only its end', () => {
    expect(runEndMetrics({ outcome: { status: 'FAILED', step: 'bake' } })).toEqual([{ name: 'RunsEnded', unit: 'Count', value: 1, dimensions: { Status: 'FAILED' } }]);
    expect(runEndMetrics({ outcome: { status: 'REJECTED', step: 'request' } })[0]!.dimensions).toEqual({ Status: 'REJECTED' });
  });

  it('a roll without a known start is counted but not timed', () => {
    const points = runEndMetrics({ outcome: { status: 'PARTIAL', step: 'promote' }, rollout: rollout(result('ecs-prod', 'ROLLED')) });
    expect(points.filter((p) => p.name === METRIC_NAMES.rolloutDuration)).toEqual([]);
    expect(points.find((p) => p.name === METRIC_NAMES.clustersRolled)!.value).toBe(1);
  });

  it('an abnormal end (run-ended’s alert) is counted with the execution’s status', () => {
    expect(abnormalEndMetrics('TIMED_OUT')).toEqual([{ name: 'RunsEnded', unit: 'Count', value: 1, dimensions: { Status: 'TIMED_OUT' } }]);
  });
});

describe('bake, promotion and the daily fleet figures', () => {
  it('the bake takes from the run’s start to the image recorded', () => {
    expect(bakeMetrics('2026-11-28T11:15:00.000Z', NOW)).toEqual([{ name: 'BakeDurationSeconds', unit: 'Seconds', value: 2700 }]);
    expect(bakeMetrics(undefined, NOW)).toEqual([]);
    expect(bakeMetrics('not a date', NOW)).toEqual([]);
  });

  it('time to patched fleet runs from the base AMI’s creation to the promotion', () => {
    expect(patchedFleetMetrics('2026-11-25T12:00:00.000Z', NOW)).toEqual([{ name: 'TimeToPatchedFleetSeconds', unit: 'Seconds', value: 3 * 86400 }]);
    // A clock behind the base's creation date gives no figure rather than a negative one.
    expect(patchedFleetMetrics('2026-11-29T00:00:00.000Z', NOW)).toEqual([]);
  });

  it('each cluster’s image age, the oldest, and the days since the last promotion; unknown images left out', () => {
    const created = new Map([
      ['ami-0week', new Date('2026-11-21T12:00:00.000Z')],
      ['ami-0month', new Date('2026-10-29T12:00:00.000Z')],
    ]);
    const points = fleetAgeMetrics(
      [
        { stackName: 'ecs-dev', amiId: 'ami-0week' },
        { stackName: 'ecs-prod', amiId: 'ami-0month' },
        { stackName: 'ecs-batch', amiId: 'ami-0notours' },
        { stackName: 'ecs-new' },
      ],
      (id) => created.get(id),
      '2026-11-26T00:00:00.000Z',
      NOW,
    );
    expect(points).toEqual([
      { name: 'ClusterImageAgeDays', unit: 'None', value: 7, dimensions: { Cluster: 'ecs-dev' } },
      { name: 'ClusterImageAgeDays', unit: 'None', value: 30, dimensions: { Cluster: 'ecs-prod' } },
      { name: 'OldestClusterImageAgeDays', unit: 'None', value: 30 },
      { name: 'DaysSinceLastPromotion', unit: 'None', value: 2.5 },
    ]);
    expect(fleetAgeMetrics([], () => undefined, undefined, NOW)).toEqual([]);
  });
});

describe('publishMetrics', () => {
  const write = jest.spyOn(process.stdout, 'write');
  beforeEach(() => {
    write.mockReset().mockImplementation(() => true);
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  });
  afterAll(() => {
    write.mockRestore();
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  });

  const emitted = () =>
    write.mock.calls
      .map(([chunk]) => String(chunk))
      .filter((line) => line.includes('_aws'))
      .map((line) => JSON.parse(line) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } } & Record<string, unknown>);

  it('writes EMF in the pipeline’s namespace with service and Stage, a record of its own per extra dimension', () => {
    publishMetrics(
      [
        { name: 'RunsEnded', unit: 'Count', value: 1, dimensions: { Status: 'SUCCEEDED' } },
        { name: 'DaysSinceLastPromotion', unit: 'None', value: 3 },
        { name: 'ClustersRolled', unit: 'Count', value: 2 },
      ],
      'prod',
    );
    const records = emitted();
    expect(records).toHaveLength(2);
    const [single, shared] = records as [(typeof records)[0], (typeof records)[0]];
    expect(single._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: METRICS_NAMESPACE, Metrics: [{ Name: 'RunsEnded', Unit: 'Count' }] });
    expect(single._aws.CloudWatchMetrics[0]!.Dimensions[0]!.sort()).toEqual(['Stage', 'Status', 'service']);
    expect(single).toMatchObject({ service: 'ecs-ami-pipeline', Stage: 'prod', Status: 'SUCCEEDED', RunsEnded: 1 });
    expect(shared._aws.CloudWatchMetrics[0]!.Dimensions[0]!.sort()).toEqual(['Stage', 'service']);
    expect(shared).toMatchObject({ DaysSinceLastPromotion: 3, ClustersRolled: 2, Stage: 'prod' });
  });

  it('writes nothing for no points, or when metrics are turned off', () => {
    publishMetrics([], 'prod');
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    publishMetrics([{ name: 'ClustersRolled', unit: 'Count', value: 1 }], 'prod');
    expect(emitted()).toEqual([]);
  });
});
