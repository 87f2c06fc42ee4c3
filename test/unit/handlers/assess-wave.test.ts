import { handler, type AssessWaveEvent } from '../../../functions/assess-wave/handler';
import type { BranchEnding, ClusterBranchOutput } from '../../../functions/lib/decisions/rollout';
import { freezeTime } from './env';

const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const target = (stackName: string) => ({ stackName, clusterName: stackName.replace(/-ecs$/, ''), imageParameter: 'ApplicationImageId' });
const WAVES = [
  { name: 'dev', clusters: [target('dev-ecs')] },
  { name: 'prod', clusters: [target('prod-a-ecs'), target('prod-b-ecs')] },
];

/** A branch output as "Report the cluster's outcome" builds it. */
function output(stackName: string, ending: BranchEnding, step: string, extra: Partial<ClusterBranchOutput> = {}): ClusterBranchOutput {
  return {
    stackName,
    clusterName: stackName.replace(/-ecs$/, ''),
    amiId: NEW,
    outcome: { ending, step },
    baseline: { amiId: OLD, source: 'record', startedAt: '2026-01-01T10:59:00.000Z' },
    update: { previousAmiId: OLD, changed: true, requestedAt: '2026-01-01T11:00:00.000Z' },
    registration: null,
    rollbackRegistration: null,
    error: null,
    rollbackError: null,
    ...extra,
  };
}

const START = { nextWave: 0, status: 'IN_PROGRESS' as const, waves: [] };

afterEach(() => jest.useRealTimers());

describe('assess-wave handler', () => {
  it('folds the first wave in and moves on', async () => {
    const now = freezeTime('2026-01-01T11:20:00.000Z');
    const event: AssessWaveEvent = {
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:m:weekly-1',
      rollout: START,
      wave: WAVES[0]!,
      results: [output('dev-ecs', 'rolled', 'registration')],
      totalWaves: 2,
    };
    await expect(handler(event)).resolves.toEqual({
      nextWave: 1,
      status: 'IN_PROGRESS',
      waves: [
        {
          name: 'dev',
          results: [
            {
              stackName: 'dev-ecs',
              clusterName: 'dev',
              status: 'ROLLED',
              ending: 'rolled',
              step: 'registration',
              amiId: NEW,
              confirmedAmiId: OLD,
              previousAmiId: OLD,
              leftOn: NEW,
              error: undefined,
              rollbackError: undefined,
              registration: undefined,
              startedAt: '2026-01-01T10:59:00.000Z',
              finishedAt: now.toISOString(),
            },
          ],
        },
      ],
    });
  });

  it('completes after the last wave, keeping earlier results', async () => {
    const afterDev = await handler({ executionArn: 'x', rollout: START, wave: WAVES[0]!, results: [output('dev-ecs', 'rolled', 'registration')], totalWaves: 2 });
    const done = await handler({
      executionArn: 'x',
      rollout: afterDev,
      wave: WAVES[1]!,
      results: [output('prod-a-ecs', 'rolled', 'registration'), output('prod-b-ecs', 'rolled', 'registration')],
      totalWaves: 2,
    });
    expect(done.status).toBe('COMPLETE');
    expect(done.nextWave).toBe(2);
    expect(done.waves.map((w) => w.results.map((r) => r.stackName))).toEqual([['dev-ecs'], ['prod-a-ecs', 'prod-b-ecs']]);
  });

  it('is CRITICAL when a rollback failed, whatever else happened', async () => {
    const state = await handler({
      executionArn: 'x',
      rollout: START,
      wave: WAVES[1]!,
      results: [
        output('prod-a-ecs', 'cloudformation-rolled-back', 'stack', { error: { Error: 'StackUpdateRolledBack', Cause: '{"errorMessage":"rolled back"}' } }),
        output('prod-b-ecs', 'rollback-failed', 'rollback', { rollbackError: { Error: 'StackRollbackFailed', Cause: 'stuck' } }),
      ],
      totalWaves: 2,
    });
    expect(state.status).toBe('CRITICAL');
    expect(state.waves[0]!.results.map((r) => [r.status, r.ending, r.error, r.rollbackError])).toEqual([
      ['FAILED', 'cloudformation-rolled-back', 'StackUpdateRolledBack: rolled back', undefined],
      ['ROLLBACK_FAILED', 'rollback-failed', undefined, 'StackRollbackFailed: stuck'],
    ]);
  });

  it('is CRITICAL when a changed cluster could not be confirmed, and FAILED when the run was refused before changing it', async () => {
    const unconfirmed = await handler({
      executionArn: 'x',
      rollout: START,
      wave: WAVES[0]!,
      results: [output('dev-ecs', 'registration-not-confirmed', 'registration', { baseline: { amiId: null, source: 'none' } })],
      totalWaves: 2,
    });
    expect(unconfirmed.status).toBe('CRITICAL');
    expect(unconfirmed.waves[0]!.results[0]).toMatchObject({ status: 'UNCONFIRMED', leftOn: NEW });

    const refused = await handler({
      executionArn: 'x',
      rollout: START,
      wave: WAVES[0]!,
      results: [output('dev-ecs', 'not-updated', 'update', { update: null, error: { Error: 'StackBusyTooLong', Cause: '{"errorMessage":"busy"}' } })],
      totalWaves: 2,
    });
    expect(refused.status).toBe('FAILED');
    expect(refused.waves[0]!.results[0]).toMatchObject({ status: 'FAILED', leftOn: OLD, error: 'StackBusyTooLong: busy' });
  });
});
