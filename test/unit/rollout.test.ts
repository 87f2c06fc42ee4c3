import type { Wave } from '../../functions/lib/contracts';
import {
  BRANCH_ENDINGS,
  CLUSTER_STATUSES,
  RESULT_ERROR_LIMIT,
  assessWave,
  clusterResult,
  clusterStatus,
  describeCaughtError,
  type BranchEnding,
  type ClusterBranchOutput,
  type ClusterStatus,
  type RolloutState,
} from '../../functions/lib/decisions/rollout';

const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const NOW = new Date('2026-01-01T12:00:00.000Z');
const target = (stackName: string) => ({ stackName, clusterName: `${stackName}-cluster`, imageParameter: 'ApplicationImageId' });
const WAVES: Wave[] = [
  { name: 'dev', clusters: [target('dev')] },
  { name: 'prod', clusters: [target('prod-a'), target('prod-b')] },
];
const START: RolloutState = { nextWave: 0, status: 'IN_PROGRESS', waves: [] };

// The step each ending's Pass state sets in the definition.
const STEP: Record<BranchEnding, string> = {
  rolled: 'registration',
  'rolled-back': 'rollback',
  'rollback-failed': 'rollback',
  'baseline-failed': 'baseline',
  'not-updated': 'update',
  'cloudformation-rolled-back': 'stack',
  'stack-rollback-failed': 'stack',
  'update-timed-out': 'stack',
  'update-not-followed': 'stack',
  'registration-not-confirmed': 'registration',
  'registration-not-checked': 'registration',
};

/** What "Report the cluster's outcome" hands back: absent steps are null. */
function branch(stackName: string, ending: BranchEnding, extra: Partial<ClusterBranchOutput> = {}): ClusterBranchOutput {
  return {
    stackName,
    clusterName: `${stackName}-cluster`,
    amiId: NEW,
    outcome: { ending, step: STEP[ending] },
    baseline: { amiId: OLD, source: 'record', detail: 'confirmed by run weekly-0 (rollout)', startedAt: '2026-01-01T10:59:00.000Z' },
    update: { previousAmiId: OLD, changed: true, requestedAt: '2026-01-01T11:00:00.000Z' },
    registration: ending === 'rolled' ? { summary: `2/2 instances ACTIVE and connected on ${NEW}`, checkedAt: '2026-01-01T11:15:00.000Z' } : null,
    rollbackRegistration: null,
    error: null,
    rollbackError: null,
    ...extra,
  };
}

const caughtError = (name: string, message = 'x') => ({ Error: name, Cause: JSON.stringify({ errorType: name, errorMessage: message }) });
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

  it('copes with a missing part, or a null error as the branch output carries it', () => {
    expect(describeCaughtError(undefined)).toBeUndefined();
    expect(describeCaughtError(null)).toBeUndefined();
    expect(describeCaughtError({ Error: 'States.Timeout' })).toBe('States.Timeout');
    expect(describeCaughtError({ Cause: 'only a cause' })).toBe('only a cause');
    expect(describeCaughtError({ Error: 'X', Cause: 'null' })).toBe('X: null');
  });
});

describe('clusterStatus', () => {
  it.each<[BranchEnding, ClusterStatus]>([
    ['rolled', 'ROLLED'],
    ['rolled-back', 'ROLLED_BACK'],
    ['rollback-failed', 'ROLLBACK_FAILED'],
    ['stack-rollback-failed', 'ROLLBACK_FAILED'],
    ['baseline-failed', 'FAILED'],
    ['cloudformation-rolled-back', 'FAILED'],
    ['update-timed-out', 'UNCONFIRMED'],
    ['update-not-followed', 'UNCONFIRMED'],
  ])('%s is %s', (ending, status) => {
    expect(clusterStatus(branch('dev', ending))).toBe(status);
  });

  it.each(['StackNotRollable', 'StackBusyTooLong', 'FleetHeldByAnotherRun', 'ConfigurationError'])(
    'not-updated after a refusal before any change (%s) is FAILED: the stack is as it was',
    (name) => {
      expect(clusterStatus(branch('dev', 'not-updated', { update: null, error: caughtError(name) }))).toBe('FAILED');
    },
  );

  it.each(['TransientAwsError', 'States.Timeout', 'Lambda.Unknown', 'StackBusy', 'InsufficientCapabilitiesException'])(
    'not-updated after any other error (%s) is UNCONFIRMED: CloudFormation may have taken the update',
    (name) => {
      expect(clusterStatus(branch('dev', 'not-updated', { update: null, error: caughtError(name) }))).toBe('UNCONFIRMED');
    },
  );

  it('not-updated without an error is UNCONFIRMED', () => {
    expect(clusterStatus(branch('dev', 'not-updated', { update: null, error: null }))).toBe('UNCONFIRMED');
  });

  it.each(['registration-not-confirmed', 'registration-not-checked'] as const)(
    '%s is UNCONFIRMED when this run changed the stack, FAILED when it did not',
    (ending) => {
      expect(clusterStatus(branch('dev', ending, { update: { previousAmiId: OLD, changed: true } }))).toBe('UNCONFIRMED');
      expect(clusterStatus(branch('dev', ending, { update: { previousAmiId: NEW, changed: false } }))).toBe('FAILED');
      expect(clusterStatus(branch('dev', ending, { update: null }))).toBe('FAILED');
      expect(clusterStatus(branch('dev', ending, { update: { previousAmiId: null } }))).toBe('FAILED');
    },
  );

  it('gives every ending a status', () => {
    for (const ending of BRANCH_ENDINGS) {
      expect(CLUSTER_STATUSES).toContain(clusterStatus(branch('dev', ending)));
    }
  });
});

describe('clusterResult', () => {
  it('summarises a rolled cluster', () => {
    expect(clusterResult(branch('dev', 'rolled'), NOW)).toEqual({
      stackName: 'dev',
      clusterName: 'dev-cluster',
      status: 'ROLLED',
      ending: 'rolled',
      step: 'registration',
      amiId: NEW,
      confirmedAmiId: OLD,
      previousAmiId: OLD,
      leftOn: NEW,
      error: undefined,
      rollbackError: undefined,
      registration: `2/2 instances ACTIVE and connected on ${NEW}`,
      startedAt: '2026-01-01T10:59:00.000Z',
      finishedAt: '2026-01-01T11:15:00.000Z',
    });
  });

  it('rolled back: left on the confirmed image, with the rollback registration and both times', () => {
    const result = clusterResult(
      branch('dev', 'rolled-back', {
        error: { Error: 'RegistrationTimedOut', Cause: JSON.stringify({ errorMessage: 'cluster dev-cluster did not confirm' }) },
        registration: null,
        rollbackRegistration: { summary: `2/2 instances ACTIVE and connected on ${OLD}`, checkedAt: '2026-01-01T11:40:00.000Z' },
      }),
      NOW,
    );
    expect(result).toMatchObject({
      status: 'ROLLED_BACK',
      ending: 'rolled-back',
      step: 'rollback',
      leftOn: OLD,
      confirmedAmiId: OLD,
      error: 'RegistrationTimedOut: cluster dev-cluster did not confirm',
      registration: `2/2 instances ACTIVE and connected on ${OLD}`,
      finishedAt: '2026-01-01T11:40:00.000Z',
    });
  });

  it('prefers the rollback registration over the first one', () => {
    const result = clusterResult(
      branch('dev', 'rolled-back', {
        registration: { summary: `0/2 instances ACTIVE and connected on ${NEW}`, checkedAt: '2026-01-01T11:20:00.000Z' },
        rollbackRegistration: { summary: `2/2 instances ACTIVE and connected on ${OLD}`, checkedAt: '2026-01-01T11:40:00.000Z' },
      }),
      NOW,
    );
    expect(result.registration).toBe(`2/2 instances ACTIVE and connected on ${OLD}`);
    expect(result.finishedAt).toBe('2026-01-01T11:40:00.000Z');
  });

  it('failed rollback: the error of the rollback, no known image, and ends now when nothing was checked', () => {
    const failed = clusterResult(
      branch('dev', 'rollback-failed', { update: { previousAmiId: null }, rollbackError: { Error: 'StackRollbackFailed', Cause: 'x' } }),
      NOW,
    );
    expect(failed.status).toBe('ROLLBACK_FAILED');
    expect(failed.previousAmiId).toBeUndefined();
    expect(failed.leftOn).toBeUndefined();
    expect(failed.rollbackError).toBe('StackRollbackFailed: x');
    expect(failed.finishedAt).toBe(NOW.toISOString());
  });

  it('FAILED is left on the stack\'s previous image, else on the confirmed one, else nowhere known', () => {
    expect(clusterResult(branch('dev', 'cloudformation-rolled-back', { update: { previousAmiId: 'ami-0eeeeeeeeeeeeeeee', changed: true } }), NOW).leftOn).toBe(
      'ami-0eeeeeeeeeeeeeeee',
    );
    expect(clusterResult(branch('dev', 'not-updated', { update: null, error: caughtError('StackNotRollable') }), NOW).leftOn).toBe(OLD);
    const noBaseline = clusterResult(
      branch('dev', 'baseline-failed', { baseline: null, update: null, error: caughtError('StackNotRollable', 'stack dev does not exist') }),
      NOW,
    );
    expect(noBaseline).toMatchObject({ status: 'FAILED', leftOn: undefined, confirmedAmiId: undefined, startedAt: undefined, finishedAt: NOW.toISOString() });
    expect(noBaseline.error).toBe('StackNotRollable: stack dev does not exist');
  });

  it('UNCONFIRMED is left on the new image only when registration was the step that failed', () => {
    expect(clusterResult(branch('dev', 'registration-not-confirmed', { baseline: { amiId: null } }), NOW)).toMatchObject({
      status: 'UNCONFIRMED',
      leftOn: NEW,
      confirmedAmiId: undefined,
      startedAt: '2026-01-01T11:00:00.000Z',
    });
    expect(clusterResult(branch('dev', 'registration-not-checked'), NOW).leftOn).toBe(NEW);
    expect(clusterResult(branch('dev', 'update-timed-out'), NOW).leftOn).toBeUndefined();
    expect(clusterResult(branch('dev', 'not-updated', { error: caughtError('TransientAwsError') }), NOW).leftOn).toBeUndefined();
  });

  it(`keeps at most ${RESULT_ERROR_LIMIT} characters of each error and of the registration summary`, () => {
    const long = 'y'.repeat(5000);
    const result = clusterResult(
      branch('dev', 'rollback-failed', {
        error: { Error: 'RegistrationTimedOut', Cause: JSON.stringify({ errorMessage: long }) },
        rollbackError: { Error: 'StackRollbackFailed', Cause: long },
        rollbackRegistration: { summary: long },
      }),
      NOW,
    );
    expect(result.error).toBe(`RegistrationTimedOut: ${long}`.slice(0, RESULT_ERROR_LIMIT) + '...');
    expect(result.rollbackError).toHaveLength(RESULT_ERROR_LIMIT + 3);
    expect(result.registration).toHaveLength(RESULT_ERROR_LIMIT + 3);
    const exact = 'z'.repeat(RESULT_ERROR_LIMIT);
    expect(clusterResult(branch('dev', 'not-updated', { error: { Cause: exact } }), NOW).error).toBe(exact);
  });
});

describe('assessWave', () => {
  it('moves on to the next wave when every cluster rolled', () => {
    const state = assessWave(START, WAVES[0]!, [branch('dev', 'rolled')], 2, NOW);
    expect(state.status).toBe('IN_PROGRESS');
    expect(state.nextWave).toBe(1);
    expect(state.waves).toEqual([{ name: 'dev', results: [clusterResult(branch('dev', 'rolled'), NOW)] }]);
  });

  it('completes after the last wave and accumulates the results of every wave', () => {
    const afterDev = assessWave(START, WAVES[0]!, [branch('dev', 'rolled')], 2, NOW);
    const done = assessWave(afterDev, WAVES[1]!, [branch('prod-a', 'rolled'), branch('prod-b', 'rolled')], 2, NOW);
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
    expect(assessWave(START, WAVES[0]!, [branch('dev', 'rolled')], 1, NOW).status).toBe('COMPLETE');
  });

  it('fails when a cluster failed, even with waves left', () => {
    const state = assessWave(START, WAVES[1]!, [branch('prod-a', 'rolled'), branch('prod-b', 'cloudformation-rolled-back')], 3, NOW);
    expect(state.status).toBe('FAILED');
    expect(rolled(state).map((r) => r.stackName)).toEqual(['prod-a']);
  });

  it('reports ROLLED_BACK when a cluster was rolled back and none failed', () => {
    expect(assessWave(START, WAVES[1]!, [branch('prod-a', 'rolled-back'), branch('prod-b', 'rolled')], 2, NOW).status).toBe('ROLLED_BACK');
  });

  it('FAILED outranks ROLLED_BACK', () => {
    expect(assessWave(START, WAVES[1]!, [branch('prod-a', 'rolled-back'), branch('prod-b', 'baseline-failed')], 2, NOW).status).toBe('FAILED');
  });

  it.each<[string, BranchEnding, Partial<ClusterBranchOutput>]>([
    ['a failed rollback', 'rollback-failed', {}],
    ['a stack CloudFormation could not roll back', 'stack-rollback-failed', {}],
    ['an update past its bound', 'update-timed-out', {}],
    ['an unconfirmed change with nothing to go back to', 'registration-not-confirmed', {}],
    ['an update step that failed after CloudFormation may have taken it', 'not-updated', { error: caughtError('TransientAwsError') }],
  ])('%s is CRITICAL and outranks FAILED and ROLLED_BACK', (_, ending, extra) => {
    const state = assessWave(
      START,
      WAVES[1]!,
      [branch('prod-a', 'cloudformation-rolled-back'), branch('prod-b', ending, extra), branch('prod-c', 'rolled-back'), branch('prod-d', 'rolled')],
      2,
      NOW,
    );
    expect(state.status).toBe('CRITICAL');
  });

  it('a wave refused before any change is FAILED, not CRITICAL', () => {
    const state = assessWave(START, WAVES[0]!, [branch('dev', 'not-updated', { update: null, error: caughtError('FleetHeldByAnotherRun') })], 2, NOW);
    expect(state.status).toBe('FAILED');
  });
});
