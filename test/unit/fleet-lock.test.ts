import type { FleetLock } from '../../functions/lib/contracts';
import { decideLock, isChildExecution } from '../../functions/lib/decisions/fleet-lock';

const EXEC = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;
const MINE = EXEC('manual-2');
const held = (owner: string): FleetLock => ({ ownerExecutionArn: owner, acquiredAt: '2026-01-01T09:00:00.000Z', trigger: 'weekly' });

describe('decideLock', () => {
  it('acquires a free fleet, whatever the (unasked) owner status', () => {
    expect(decideLock(undefined, MINE, undefined)).toEqual({ action: 'acquire' });
    expect(decideLock(undefined, MINE, 'RUNNING')).toEqual({ action: 'acquire' });
  });

  it('goes on when this run holds it already (a retried or redriven step), even if asked about itself', () => {
    expect(decideLock(held(MINE), MINE, undefined)).toEqual({ action: 'held' });
    expect(decideLock(held(MINE), MINE, 'RUNNING')).toEqual({ action: 'held' });
  });

  it.each(['RUNNING', 'PENDING_REDRIVE'])('gives way to another holder that is %s', (status) => {
    const owner = held(EXEC('weekly-1'));
    expect(decideLock(owner, MINE, status)).toEqual({ action: 'give-way', owner });
  });

  it.each(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'])('takes over from a holder that is %s (it ended without releasing)', (status) => {
    const owner = held(EXEC('weekly-1'));
    expect(decideLock(owner, MINE, status)).toEqual({ action: 'take-over', owner, ownerStatus: status });
  });

  it('takes over from a holder whose execution no longer exists, calling it gone', () => {
    const owner = held(EXEC('weekly-1'));
    expect(decideLock(owner, MINE, undefined)).toEqual({ action: 'take-over', owner, ownerStatus: 'gone' });
  });

  it('does not confuse a holder whose ARN merely starts like this run\'s', () => {
    expect(decideLock(held(`${MINE}0`), MINE, 'RUNNING')).toMatchObject({ action: 'give-way' });
  });
});

describe('isChildExecution', () => {
  it('is false for a run of the state machine', () => {
    expect(isChildExecution(EXEC('weekly-1'))).toBe(false);
    expect(isChildExecution(EXEC('manual-20260101-013005-a1b2c3'))).toBe(false);
  });

  it('is true for a Distributed Map child, whose machine part carries the map run label', () => {
    expect(isChildExecution('arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod/Roll-the-wave:4a3b2c1d-0000-1111-2222-333344445555')).toBe(true);
  });

  it('is false for anything that is not an execution ARN', () => {
    expect(isChildExecution('arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod/x')).toBe(false);
    expect(isChildExecution('arn:aws:states:eu-west-1:123456789012:mapRun:ecs-ami-pipeline-prod/Roll:abc')).toBe(false);
    expect(isChildExecution('not an arn')).toBe(false);
    expect(isChildExecution('')).toBe(false);
  });
});
