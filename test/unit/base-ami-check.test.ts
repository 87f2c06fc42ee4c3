import { RETRY_AFTER_MINUTES, decideBaseAmiCheck, type BaseAmiCheckState } from '../../functions/lib/decisions/base-ami-check';
import type { BaseAmiAttempts } from '../../functions/lib/contracts';

const NEW_BASE = 'ami-0cccccccccccccccc';
const OLD_BASE = 'ami-0bbbbbbbbbbbbbbbb';
const NAME = 'al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64';
const NOW = new Date('2026-01-01T12:00:00.000Z');
const EXEC = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;
const minutesBefore = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

function state(extra: Partial<BaseAmiCheckState> = {}): BaseAmiCheckState {
  return { recommended: { imageId: NEW_BASE, imageName: NAME }, currentBaseAmiId: OLD_BASE, now: NOW, maxAttempts: 3, ...extra };
}

function tried(attempts: number, lastStartedAt: string, baseAmiId = NEW_BASE): BaseAmiAttempts {
  return { baseAmiId, attempts, lastStartedAt, lastExecutionArn: EXEC(`base-${baseAmiId}-a${attempts}`) };
}

describe('decideBaseAmiCheck', () => {
  it('does nothing when the current image is built on the recommended base, whoever holds the fleet', () => {
    const expected = { action: 'none', reason: 'up-to-date', baseAmiId: NEW_BASE };
    expect(decideBaseAmiCheck(state({ currentBaseAmiId: NEW_BASE }))).toEqual(expected);
    expect(decideBaseAmiCheck(state({ currentBaseAmiId: NEW_BASE, holder: { executionArn: EXEC('weekly-1'), alive: true } }))).toEqual(expected);
    expect(decideBaseAmiCheck(state({ currentBaseAmiId: NEW_BASE, attempts: tried(3, minutesBefore(1)) }))).toEqual(expected);
  });

  it('does nothing while a live run holds the fleet, naming it', () => {
    expect(decideBaseAmiCheck(state({ holder: { executionArn: EXEC('weekly-1'), alive: true } }))).toEqual({
      action: 'none',
      reason: 'run-in-flight',
      baseAmiId: NEW_BASE,
      runningExecutionArn: EXEC('weekly-1'),
    });
  });

  it('does not ask again for a base whose last run a person rejected (or let time out), however long ago', () => {
    const rejected = state({ attempts: tried(1, minutesBefore(10_000)), lastAttemptNotApproved: true });
    expect(decideBaseAmiCheck(rejected)).toEqual({ action: 'none', reason: 'not-approved', baseAmiId: NEW_BASE, lastExecutionArn: EXEC(`base-${NEW_BASE}-a1`) });
    // A newer base is a new question.
    expect(decideBaseAmiCheck({ ...rejected, attempts: tried(1, minutesBefore(10_000), OLD_BASE) })).toMatchObject({ action: 'start', attempt: 1 });
  });

  it('starts when the holder of the fleet is dead (its lock is stale)', () => {
    const decision = decideBaseAmiCheck(state({ holder: { executionArn: EXEC('weekly-1'), alive: false } }));
    expect(decision).toMatchObject({ action: 'start', baseAmiId: NEW_BASE, attempt: 1 });
  });

  it('starts attempt 1 named base-<ami>-a1-<stamp>, with trigger base-ami and the new base as source', () => {
    expect(decideBaseAmiCheck(state())).toEqual({
      action: 'start',
      baseAmiId: NEW_BASE,
      previousBaseAmiId: OLD_BASE,
      attempt: 1,
      executionName: `base-${NEW_BASE}-a1-20260101T1200`,
      input: { trigger: 'base-ami', sourceAmi: NEW_BASE, reason: `new ECS-optimized base AMI ${NEW_BASE} (${NAME})`, requestedBy: 'base-AMI check (schedule)' },
    });
  });

  it('records who asked when a person runs the check (ami-pipeline check), not the schedule', () => {
    const decision = decideBaseAmiCheck(state({ requestedBy: 'ami-pipeline check by arn:aws:iam::000000000000:user/ops' }));
    expect(decision.action === 'start' && decision.input.requestedBy).toBe('ami-pipeline check by arn:aws:iam::000000000000:user/ops');
  });

  it('starts the first run when no base is recorded yet, with no image name in the reason when AWS gives none', () => {
    const decision = decideBaseAmiCheck(state({ recommended: { imageId: NEW_BASE }, currentBaseAmiId: undefined }));
    expect(decision).toMatchObject({ action: 'start', previousBaseAmiId: undefined, attempt: 1 });
    expect(decision.action === 'start' && decision.input.reason).toBe(`new ECS-optimized base AMI ${NEW_BASE}`);
  });

  it('keeps execution names within Step Functions rules (1-80 of [A-Za-z0-9-_])', () => {
    const decision = decideBaseAmiCheck(state());
    expect(decision.action === 'start' && decision.executionName).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('waits after a failed attempt: retry-later until the pause after it has passed', () => {
    expect(RETRY_AFTER_MINUTES[0]).toBe(60);
    const attempts = tried(1, minutesBefore(59));
    expect(decideBaseAmiCheck(state({ attempts }))).toEqual({
      action: 'none',
      reason: 'retry-later',
      baseAmiId: NEW_BASE,
      attempts: 1,
      retryAt: minutesBefore(-1),
      lastExecutionArn: attempts.lastExecutionArn,
    });
  });

  it('treats an attempts record without a readable start time (edited by hand) as due, instead of failing every check', () => {
    const attempts = { ...tried(1, minutesBefore(5)), lastStartedAt: 'yesterday-ish' };
    expect(decideBaseAmiCheck(state({ attempts }))).toMatchObject({ action: 'start', attempt: 2 });
  });

  it('starts attempt 2 once the pause has passed, saying which attempt it is', () => {
    for (const minutes of [60, 61, 600]) {
      const decision = decideBaseAmiCheck(state({ attempts: tried(1, minutesBefore(minutes)) }));
      expect(decision).toEqual({
        action: 'start',
        baseAmiId: NEW_BASE,
        previousBaseAmiId: OLD_BASE,
        attempt: 2,
        executionName: `base-${NEW_BASE}-a2-20260101T1200`,
        input: { trigger: 'base-ami', sourceAmi: NEW_BASE, reason: `new ECS-optimized base AMI ${NEW_BASE} (${NAME}), attempt 2 of 3`, requestedBy: 'base-AMI check (schedule)' },
      });
    }
  });

  it('grows the pause with each attempt (60, 240, then 960 minutes)', () => {
    const at = (attempts: number, minutes: number) =>
      decideBaseAmiCheck(state({ maxAttempts: 10, attempts: tried(attempts, minutesBefore(minutes)) }));
    expect(at(2, 239)).toMatchObject({ reason: 'retry-later', attempts: 2, retryAt: minutesBefore(-1) });
    expect(at(2, 240)).toMatchObject({ action: 'start', attempt: 3 });
    expect(at(3, 959)).toMatchObject({ reason: 'retry-later', attempts: 3 });
    expect(at(3, 960)).toMatchObject({ action: 'start', attempt: 4 });
    // past the table, the last pause applies
    expect(at(5, 959)).toMatchObject({ reason: 'retry-later', attempts: 5 });
    expect(at(5, 960)).toMatchObject({ action: 'start', attempt: 6 });
  });

  it('gives up at maxAttempts, however long ago the last one started', () => {
    const attempts = tried(3, minutesBefore(100_000));
    expect(decideBaseAmiCheck(state({ attempts }))).toEqual({
      action: 'none',
      reason: 'gave-up',
      baseAmiId: NEW_BASE,
      attempts: 3,
      lastExecutionArn: attempts.lastExecutionArn,
    });
    expect(decideBaseAmiCheck(state({ maxAttempts: 1, attempts: tried(1, minutesBefore(100_000)) }))).toMatchObject({ reason: 'gave-up', attempts: 1 });
    expect(decideBaseAmiCheck(state({ maxAttempts: 4, attempts: tried(3, minutesBefore(960)) }))).toMatchObject({ action: 'start', attempt: 4 });
  });

  it('does not count attempts recorded for another base', () => {
    const decision = decideBaseAmiCheck(state({ attempts: tried(3, minutesBefore(1), 'ami-0eeeeeeeeeeeeeeee') }));
    expect(decision).toMatchObject({ action: 'start', attempt: 1, executionName: `base-${NEW_BASE}-a1-20260101T1200` });
  });

  it('follows a reverted recommendation back to an older base, counting from attempt 1', () => {
    // The fleet runs on NEW_BASE; AWS pulled it and recommends OLD_BASE again. The attempts are NEW_BASE's.
    const decision = decideBaseAmiCheck(
      state({ recommended: { imageId: OLD_BASE }, currentBaseAmiId: NEW_BASE, attempts: tried(3, minutesBefore(1), NEW_BASE) }),
    );
    expect(decision).toEqual({
      action: 'start',
      baseAmiId: OLD_BASE,
      previousBaseAmiId: NEW_BASE,
      attempt: 1,
      executionName: `base-${OLD_BASE}-a1-20260101T1200`,
      input: { trigger: 'base-ami', sourceAmi: OLD_BASE, reason: `new ECS-optimized base AMI ${OLD_BASE}`, requestedBy: 'base-AMI check (schedule)' },
    });
  });

  it('waits while the last run started for this base is still going, even before it holds the fleet', () => {
    const attempts = tried(1, minutesBefore(61));
    const expected = { action: 'none', reason: 'run-in-flight', baseAmiId: NEW_BASE, runningExecutionArn: attempts.lastExecutionArn };
    expect(decideBaseAmiCheck(state({ attempts, lastAttemptAlive: true }))).toEqual(expected);
    // it outranks giving up: the last attempt may still promote the base
    expect(decideBaseAmiCheck(state({ attempts: tried(3, minutesBefore(5000)), lastAttemptAlive: true }))).toMatchObject({ reason: 'run-in-flight' });
    // a dead holder of the lock does not change that
    expect(decideBaseAmiCheck(state({ attempts, lastAttemptAlive: true, holder: { executionArn: EXEC('weekly-1'), alive: false } }))).toEqual(expected);
  });

  it('ignores a live last attempt that was for another base, or that is not recorded', () => {
    expect(decideBaseAmiCheck(state({ attempts: tried(1, minutesBefore(1), OLD_BASE), lastAttemptAlive: true }))).toMatchObject({ action: 'start', attempt: 1 });
    expect(decideBaseAmiCheck(state({ lastAttemptAlive: true }))).toMatchObject({ action: 'start', attempt: 1 });
    expect(decideBaseAmiCheck(state({ currentBaseAmiId: NEW_BASE, attempts: tried(1, minutesBefore(1)), lastAttemptAlive: true }))).toMatchObject({
      reason: 'up-to-date',
    });
  });

  it('lets a live holder outrank the retry bookkeeping', () => {
    expect(
      decideBaseAmiCheck(state({ attempts: tried(3, minutesBefore(1)), holder: { executionArn: EXEC('manual-1'), alive: true } })),
    ).toMatchObject({ reason: 'run-in-flight', runningExecutionArn: EXEC('manual-1') });
  });
});
