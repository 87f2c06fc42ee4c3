import { handler, type AssessWaveEvent } from '../../../functions/assess-wave/handler';
import type { ClusterBranchOutput } from '../../../functions/lib/rollout';
import { freezeTime } from './env';

const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const target = (stackName: string) => ({ stackName, clusterName: stackName.replace(/-ecs$/, ''), imageParameter: 'ApplicationImageId' });
const WAVES = [
  { name: 'dev', clusters: [target('dev-ecs')] },
  { name: 'prod', clusters: [target('prod-a-ecs'), target('prod-b-ecs')] },
];

function output(stackName: string, status: ClusterBranchOutput['outcome']['status'], extra: Partial<ClusterBranchOutput> = {}): ClusterBranchOutput {
  return {
    target: target(stackName),
    amiId: NEW,
    update: { previousAmiId: OLD, changed: true, requestedAt: '2026-01-01T11:00:00.000Z' },
    outcome: { status, step: status === 'ROLLED' ? 'registration' : 'stack' },
    ...extra,
  };
}

afterEach(() => jest.useRealTimers());

describe('assess-wave handler', () => {
  it('folds the first wave in and moves on', async () => {
    const now = freezeTime('2026-01-01T11:20:00.000Z');
    const event: AssessWaveEvent = {
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:m:weekly-1',
      rollout: { nextWave: 0, status: 'IN_PROGRESS', waves: [] },
      wave: WAVES[0]!,
      results: [output('dev-ecs', 'ROLLED')],
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
              step: 'registration',
              amiId: NEW,
              previousAmiId: OLD,
              error: undefined,
              rollbackError: undefined,
              registration: undefined,
              startedAt: '2026-01-01T11:00:00.000Z',
              finishedAt: now.toISOString(),
            },
          ],
        },
      ],
    });
  });

  it('completes after the last wave, keeping earlier results', async () => {
    const afterDev = await handler({
      executionArn: 'x',
      rollout: { nextWave: 0, status: 'IN_PROGRESS', waves: [] },
      wave: WAVES[0]!,
      results: [output('dev-ecs', 'ROLLED')],
      totalWaves: 2,
    });
    const done = await handler({ executionArn: 'x', rollout: afterDev, wave: WAVES[1]!, results: [output('prod-a-ecs', 'ROLLED'), output('prod-b-ecs', 'ROLLED')], totalWaves: 2 });
    expect(done.status).toBe('COMPLETE');
    expect(done.nextWave).toBe(2);
    expect(done.waves.map((w) => w.results.map((r) => r.stackName))).toEqual([['dev-ecs'], ['prod-a-ecs', 'prod-b-ecs']]);
  });

  it('is CRITICAL when a rollback failed, whatever else happened', async () => {
    const state = await handler({
      executionArn: 'x',
      rollout: { nextWave: 0, status: 'IN_PROGRESS', waves: [] },
      wave: WAVES[1]!,
      results: [
        output('prod-a-ecs', 'FAILED', { error: { Error: 'StackUpdateRolledBack', Cause: '{"errorMessage":"rolled back"}' } }),
        output('prod-b-ecs', 'ROLLBACK_FAILED', { rollbackError: { Error: 'StackRollbackFailed', Cause: 'stuck' } }),
      ],
      totalWaves: 2,
    });
    expect(state.status).toBe('CRITICAL');
    expect(state.waves[0]!.results.map((r) => [r.status, r.error, r.rollbackError])).toEqual([
      ['FAILED', 'StackUpdateRolledBack: rolled back', undefined],
      ['ROLLBACK_FAILED', undefined, 'StackRollbackFailed: stuck'],
    ]);
  });
});
