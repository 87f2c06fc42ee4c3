import type { ClusterRecord } from '../../functions/lib/contracts';
import { RUN_ENDS, clustersToCheck, composeRunEndAlert, decideRunEnd, type ExecutionStatusChange, type StackNow } from '../../functions/lib/decisions/run-end';

const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';
const CHILD = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod/Roll-the-wave:0b1c2d3e-aaaa-bbbb-cccc-ddddeeeeffff';
const OTHER = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-9';
const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const change = (extra: Partial<ExecutionStatusChange> = {}): ExecutionStatusChange => ({ executionArn: EXEC, name: 'weekly-1', status: 'FAILED', ...extra });
const target = (stackName: string) => ({ stackName, clusterName: stackName, imageParameter: 'ApplicationImageId' });
const record = (stackName: string, amiId: string): ClusterRecord => ({
  stackName,
  clusterName: stackName,
  amiId,
  purpose: 'rollout',
  runId: 'weekly-0',
  executionArn: OTHER,
  confirmedAt: '2026-01-01T00:00:00.000Z',
});

describe('decideRunEnd', () => {
  it.each(RUN_ENDS)('a run that ended %s holding the lock: release it and alert', (status) => {
    expect(decideRunEnd(change({ status }), EXEC, false)).toEqual({ ignore: false, release: true, alert: true });
  });

  it('releases only a lock this execution holds', () => {
    expect(decideRunEnd(change(), OTHER, false)).toEqual({ ignore: false, release: false, alert: true });
    expect(decideRunEnd(change(), undefined, false)).toEqual({ ignore: false, release: false, alert: true });
  });

  it('alerts only when ops have not heard about the run', () => {
    expect(decideRunEnd(change(), EXEC, true)).toEqual({ ignore: false, release: true, alert: false });
    expect(decideRunEnd(change({ status: 'ABORTED' }), undefined, true)).toEqual({ ignore: false, release: false, alert: false });
  });

  it('ignores Distributed Map children, even holding what looks like the lock', () => {
    expect(decideRunEnd(change({ executionArn: CHILD }), CHILD, false)).toEqual({ ignore: true, release: false, alert: false });
  });

  it.each(['RUNNING', 'PENDING_REDRIVE', 'SOMETHING_NEW'])('ignores a %s status: not an end', (status) => {
    expect(decideRunEnd(change({ status }), EXEC, false)).toEqual({ ignore: true, release: false, alert: false });
  });
});

describe('clustersToCheck', () => {
  const targets = [target('a'), target('b'), target('c'), target('d')];
  const settled = (image: string | undefined): StackNow => ({ image, status: 'UPDATE_COMPLETE' });

  it('lists each stack whose image is not the one its cluster last confirmed, in target order', () => {
    const stacks = new Map<string, StackNow | undefined>([
      ['a', settled(NEW)],
      ['b', settled(OLD)],
      ['c', undefined],
      ['d', settled(NEW)],
    ]);
    const records = new Map<string, ClusterRecord | undefined>([
      ['a', record('a', NEW)],
      ['b', record('b', NEW)],
      ['c', record('c', OLD)],
      ['d', undefined],
    ]);
    expect(clustersToCheck(targets, stacks, records)).toEqual([
      { stackName: 'b', stackImage: OLD, stackStatus: 'UPDATE_COMPLETE', confirmed: NEW },
      { stackName: 'c', stackImage: undefined, stackStatus: undefined, confirmed: OLD },
      // d never confirmed an image: no run changed it (a run adopts a cluster before changing its stack).
    ]);
  });

  // Found by the invariants property (I4): a rollback that failed puts the confirmed image back in
  // the parameter, so comparing images alone said every stack was fine.
  it.each(['UPDATE_ROLLBACK_FAILED', 'UPDATE_FAILED', 'UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'])(
    'lists a stack on its confirmed image that is %s: failed or still changing, it needs a person',
    (status) => {
      expect(clustersToCheck([target('a')], new Map([['a', { image: NEW, status }]]), new Map([['a', record('a', NEW)]]))).toEqual([
        { stackName: 'a', stackImage: NEW, stackStatus: status, confirmed: NEW },
      ]);
    },
  );

  it.each(['UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'CREATE_COMPLETE'])('is empty when every stack names its confirmed image and is %s', (status) => {
    expect(clustersToCheck([target('a')], new Map([['a', { image: NEW, status }]]), new Map([['a', record('a', NEW)]]))).toEqual([]);
  });
});

describe('composeRunEndAlert', () => {
  const context = { serviceName: 'ecs-ami-pipeline', stage: 'prod', off: [] as ReturnType<typeof clustersToCheck>, lockReleased: true };

  it('says the run ended without its own message, what Step Functions reported, and where each cluster stands', () => {
    const alert = composeRunEndAlert(change({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: 'The state/task returned a result too large' }), {
      ...context,
      off: [
        { stackName: 'prod-a-ecs', stackImage: NEW, stackStatus: 'UPDATE_COMPLETE', confirmed: OLD },
        { stackName: 'prod-b-ecs' },
        { stackName: 'prod-c-ecs', stackImage: OLD, stackStatus: 'UPDATE_ROLLBACK_FAILED', confirmed: OLD },
      ],
    });
    expect(alert.subject).toBe('[ecs-ami-pipeline prod] FAILED: run weekly-1 failed before it could notify');
    expect(alert.attributes).toEqual({ status: 'FAILED', stage: 'prod', step: 'unknown' });
    expect(alert.message).toBe(
      [
        'Status:   FAILED (reported by Step Functions: the run did not send its own message)',
        'Run:      weekly-1',
        'Error:    States.DataLimitExceeded: The state/task returned a result too large',
        '',
        'Clusters',
        '  ACTION REQUIRED: check these stacks. Each is off the image its cluster last confirmed, mid-update,',
        '  or left failed (ContinueUpdateRollback for UPDATE_ROLLBACK_FAILED):',
        `    prod-a-ecs (UPDATE_COMPLETE): stack has ${NEW}, last confirmed ${OLD}`,
        '    prod-b-ecs: stack has no image, last confirmed none',
        `    prod-c-ecs (UPDATE_ROLLBACK_FAILED): stack has ${OLD}, last confirmed ${OLD}`,
        '',
        'Fleet lock: released (this run held it)',
        'ami/current was not changed by the pipeline after the point of failure; see the execution:',
        `  https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXEC}`,
        '',
      ].join('\n'),
    );
  });

  it.each([
    ['TIMED_OUT', 'TIMED OUT: run weekly-1 timed out before it could notify'],
    ['ABORTED', 'ABORTED: run weekly-1 was stopped before it could notify'],
  ])('words a %s run in the subject', (status, words) => {
    expect(composeRunEndAlert(change({ status }), context).subject).toBe(`[ecs-ami-pipeline prod] ${words}`);
  });

  it('says when every stack is on its confirmed image, when the comparison failed, and when the lock was not this run\'s', () => {
    expect(composeRunEndAlert(change(), context).message).toContain('Clusters\n  Every configured stack names the image its cluster last confirmed, and none is failed or mid-update.\n');
    const unknown = composeRunEndAlert(change(), { ...context, off: undefined, lockReleased: false }).message;
    expect(unknown).toContain('Clusters\n  Could not compare the stacks with their confirmed images: check each cluster stack.\n');
    expect(unknown).toContain('Fleet lock: not held by this run\n');
  });

  it('leaves the error line out without an error, and keeps the error without a cause', () => {
    expect(composeRunEndAlert(change({ error: null, cause: null }), context).message).not.toContain('Error:');
    expect(composeRunEndAlert(change({ error: 'States.Runtime', cause: null }), context).message).toContain('Error:    States.Runtime\n');
  });

  it('cuts a long cause to 600 characters', () => {
    const message = composeRunEndAlert(change({ error: 'States.Runtime', cause: 'c'.repeat(5000) }), context).message;
    expect(message).toContain(`Error:    States.Runtime: ${'c'.repeat(600)}...\n`);
    expect(message).not.toContain('c'.repeat(601));
  });

  it('keeps the subject under 100 characters, taking the name from the ARN when the event has none', () => {
    const long = `manual-${'x'.repeat(73)}`;
    const arn = `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${long}`;
    const alert = composeRunEndAlert({ executionArn: arn, status: 'TIMED_OUT' }, { ...context, serviceName: 'a-rather-long-service-name', stage: 'production-eu' });
    expect(alert.subject.length).toBeLessThan(100);
    expect(alert.subject.startsWith('[a-rather-long-service-name production-eu] TIMED OUT: run manual-xxx')).toBe(true);
    expect(alert.message).toContain(`Run:      ${long}\n`);
  });
});
