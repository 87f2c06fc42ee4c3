import type { Wave } from '../../functions/lib/contracts';
import {
  assessWave,
  clusterResult,
  describeCaughtError,
  type ClusterBranchOutput,
  type ClusterStatus,
  type RolloutState,
} from '../../functions/lib/rollout';

const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const NOW = new Date('2026-01-01T12:00:00.000Z');
const target = (stackName: string) => ({ stackName, clusterName: `${stackName}-cluster`, imageParameter: 'ApplicationImageId' });
const WAVES: Wave[] = [
  { name: 'dev', clusters: [target('dev')] },
  { name: 'prod', clusters: [target('prod-a'), target('prod-b')] },
];
const START: RolloutState = { nextWave: 0, status: 'IN_PROGRESS', waves: [] };

function branch(stackName: string, status: ClusterStatus, extra: Partial<ClusterBranchOutput> = {}): ClusterBranchOutput {
  return {
    target: target(stackName),
    amiId: NEW,
    update: { previousAmiId: OLD, changed: true, requestedAt: '2026-01-01T11:00:00.000Z' },
    stack: { status: 'UPDATE_COMPLETE', settledAt: '2026-01-01T11:10:00.000Z' },
    registration: { summary: `2/2 instances ACTIVE and connected on ${NEW}`, checkedAt: '2026-01-01T11:15:00.000Z' },
    outcome: { status, step: status === 'ROLLED' ? 'registration' : 'stack' },
    ...extra,
  };
}

const rolled = (state: RolloutState) => state.waves.flatMap((w) => w.results.filter((r) => r.status === 'ROLLED'));

describe('describeCaughtError', () => {
  it('reads errorMessage from a Lambda cause', () => {
    expect(
      describeCaughtError({
        Error: 'StackUpdateRolledBack',
        Cause: JSON.stringify({ errorType: 'StackUpdateRolledBack', errorMessage: 'CloudFormation rolled stack dev back: Asg: timeout', trace: [] }),
      }),
    ).toBe('StackUpdateRolledBack: CloudFormation rolled stack dev back: Asg: timeout');
  });

  it('keeps a plain-text cause as it is', () => {
    expect(describeCaughtError({ Error: 'States.Timeout', Cause: 'The task timed out' })).toBe('States.Timeout: The task timed out');
  });

  it('keeps a JSON cause without errorMessage as JSON', () => {
    expect(describeCaughtError({ Error: 'States.TaskFailed', Cause: '{"Build":{"Id":"b"}}' })).toBe('States.TaskFailed: {"Build":{"Id":"b"}}');
  });

  it('copes with a missing part', () => {
    expect(describeCaughtError(undefined)).toBeUndefined();
    expect(describeCaughtError({ Error: 'States.Timeout' })).toBe('States.Timeout');
    expect(describeCaughtError({ Cause: 'only a cause' })).toBe('only a cause');
    expect(describeCaughtError({ Error: 'X', Cause: 'null' })).toBe('X: null');
  });
});

describe('clusterResult', () => {
  it('summarises a rolled cluster', () => {
    expect(clusterResult(branch('dev', 'ROLLED'), NOW)).toEqual({
      stackName: 'dev',
      clusterName: 'dev-cluster',
      status: 'ROLLED',
      step: 'registration',
      amiId: NEW,
      previousAmiId: OLD,
      error: undefined,
      rollbackError: undefined,
      registration: `2/2 instances ACTIVE and connected on ${NEW}`,
      startedAt: '2026-01-01T11:00:00.000Z',
      finishedAt: '2026-01-01T11:15:00.000Z',
    });
  });

  it('prefers the rollback registration, describes both errors, and ends now when nothing was checked', () => {
    const result = clusterResult(
      branch('dev', 'ROLLED_BACK', {
        error: { Error: 'RegistrationTimedOut', Cause: JSON.stringify({ errorMessage: 'cluster dev-cluster did not confirm' }) },
        rollbackRegistration: { summary: `2/2 instances ACTIVE and connected on ${OLD}`, checkedAt: '2026-01-01T11:40:00.000Z' },
      }),
      NOW,
    );
    expect(result.error).toBe('RegistrationTimedOut: cluster dev-cluster did not confirm');
    expect(result.registration).toBe(`2/2 instances ACTIVE and connected on ${OLD}`);
    expect(result.finishedAt).toBe('2026-01-01T11:40:00.000Z');

    const failed = clusterResult(
      { target: target('dev'), amiId: NEW, update: { previousAmiId: '' }, rollbackError: { Error: 'StackRollbackFailed', Cause: 'x' }, outcome: { status: 'ROLLBACK_FAILED', step: 'rollback' } },
      NOW,
    );
    expect(failed.previousAmiId).toBeUndefined();
    expect(failed.rollbackError).toBe('StackRollbackFailed: x');
    expect(failed.finishedAt).toBe(NOW.toISOString());
  });
});

describe('assessWave', () => {
  it('moves on to the next wave when every cluster rolled', () => {
    const state = assessWave(START, WAVES[0]!, [branch('dev', 'ROLLED')], 2, NOW);
    expect(state.status).toBe('IN_PROGRESS');
    expect(state.nextWave).toBe(1);
    expect(state.waves).toEqual([{ name: 'dev', results: [clusterResult(branch('dev', 'ROLLED'), NOW)] }]);
  });

  it('completes after the last wave and accumulates the results of every wave', () => {
    const afterDev = assessWave(START, WAVES[0]!, [branch('dev', 'ROLLED')], 2, NOW);
    const done = assessWave(afterDev, WAVES[1]!, [branch('prod-a', 'ROLLED'), branch('prod-b', 'ROLLED')], 2, NOW);
    expect(done.status).toBe('COMPLETE');
    expect(done.nextWave).toBe(2);
    expect(done.waves.map((w) => [w.name, w.results.map((r) => r.stackName)])).toEqual([
      ['dev', ['dev']],
      ['prod', ['prod-a', 'prod-b']],
    ]);
    expect(rolled(done).map((r) => r.stackName)).toEqual(['dev', 'prod-a', 'prod-b']);
    // the previous state is not mutated
    expect(afterDev.waves).toHaveLength(1);
  });

  it('completes a single-wave rollout at once', () => {
    expect(assessWave(START, WAVES[0]!, [branch('dev', 'ROLLED')], 1, NOW).status).toBe('COMPLETE');
  });

  it('fails when a cluster failed, even with waves left', () => {
    const state = assessWave(START, WAVES[1]!, [branch('prod-a', 'ROLLED'), branch('prod-b', 'FAILED')], 3, NOW);
    expect(state.status).toBe('FAILED');
    expect(rolled(state).map((r) => r.stackName)).toEqual(['prod-a']);
  });

  it('reports ROLLED_BACK when a cluster was rolled back and none failed', () => {
    expect(assessWave(START, WAVES[1]!, [branch('prod-a', 'ROLLED_BACK'), branch('prod-b', 'ROLLED')], 2, NOW).status).toBe('ROLLED_BACK');
  });

  it('FAILED outranks ROLLED_BACK', () => {
    expect(assessWave(START, WAVES[1]!, [branch('prod-a', 'ROLLED_BACK'), branch('prod-b', 'FAILED')], 2, NOW).status).toBe('FAILED');
  });

  it('a failed rollback is CRITICAL and outranks everything', () => {
    const state = assessWave(
      START,
      WAVES[1]!,
      [branch('prod-a', 'FAILED'), branch('prod-b', 'ROLLBACK_FAILED'), branch('prod-c', 'ROLLED_BACK')],
      2,
      NOW,
    );
    expect(state.status).toBe('CRITICAL');
  });
});

