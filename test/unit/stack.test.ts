import { PipelineError } from '../../functions/lib/contracts/errors';
import {
  deadlineAfter,
  isBusy,
  isNoUpdatesError,
  planImageUpdate,
  rootCauseOfFailure,
  updateAcceptedWith,
  updateProgress,
  type StackEventView,
  type StackView,
} from '../../functions/lib/decisions/stack';

const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const NEW = 'ami-0bbbbbbbbbbbbbbbb';

function stack(status: string, parameters: StackView['parameters'] = []): StackView {
  return {
    stackName: 'prod-ecs',
    status,
    parameters: parameters.length
      ? parameters
      : [
          { key: 'VpcId', value: 'vpc-1' },
          { key: 'ApplicationImageId', value: OLD },
          { key: 'InstanceType', value: 't3.large' },
        ],
  };
}

function thrown(run: () => unknown): PipelineError {
  try {
    run();
  } catch (error) {
    return error as PipelineError;
  }
  throw new Error('expected an error');
}

describe('planImageUpdate', () => {
  it('changes only the image parameter and reuses every other previous value', () => {
    expect(planImageUpdate(stack('UPDATE_COMPLETE'), 'ApplicationImageId', NEW)).toEqual({
      kind: 'update',
      previousAmiId: OLD,
      parameters: [
        { ParameterKey: 'VpcId', UsePreviousValue: true },
        { ParameterKey: 'ApplicationImageId', ParameterValue: NEW },
        { ParameterKey: 'InstanceType', UsePreviousValue: true },
      ],
    });
  });

  it.each(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE'])(
    'updates a stack in %s',
    (status) => {
      expect(planImageUpdate(stack(status), 'ApplicationImageId', NEW).kind).toBe('update');
    },
  );

  it('plans nothing when the stack already runs the image', () => {
    expect(planImageUpdate(stack('UPDATE_COMPLETE'), 'ApplicationImageId', OLD)).toEqual({ kind: 'none', previousAmiId: OLD });
  });

  it.each(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'CREATE_IN_PROGRESS'])(
    'refuses a busy stack (%s) with StackBusy',
    (status) => {
      const error = thrown(() => planImageUpdate(stack(status), 'ApplicationImageId', NEW));
      expect(error.name).toBe('StackBusy');
      expect(error.message).toBe(`stack prod-ecs is busy (${status}); the pipeline waits for it to settle before updating it`);
    },
  );

  it.each(['UPDATE_ROLLBACK_FAILED', 'UPDATE_FAILED', 'ROLLBACK_COMPLETE', 'CREATE_FAILED', 'DELETE_FAILED', 'ROLLBACK_FAILED'])(
    'refuses a stack CloudFormation cannot update (%s) with StackNotRollable',
    (status) => {
      const error = thrown(() => planImageUpdate(stack(status), 'ApplicationImageId', NEW));
      expect(error.name).toBe('StackNotRollable');
      expect(error.message).toBe(
        `stack prod-ecs is in ${status}, from which CloudFormation accepts no update; repair the stack, then run the pipeline again`,
      );
    },
  );

  it('names the missing parameter and lists the stack\'s parameters', () => {
    const error = thrown(() => planImageUpdate(stack('UPDATE_COMPLETE'), 'ImageId', NEW));
    expect(error.name).toBe('StackNotRollable');
    expect(error.message).toBe(
      'stack prod-ecs has no parameter ImageId (its parameters: VpcId, ApplicationImageId, InstanceType); set imageParameter for this target in the waves param',
    );
    const bare = thrown(() => planImageUpdate({ stackName: 'bare', status: 'CREATE_COMPLETE', parameters: [] }, 'ImageId', NEW));
    expect(bare.message).toContain('(its parameters: none)');
  });

  it('refuses an SSM-typed image parameter (it has a resolved value)', () => {
    const view = stack('UPDATE_COMPLETE', [
      { key: 'ApplicationImageId', value: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id', resolvedValue: OLD },
    ]);
    const error = thrown(() => planImageUpdate(view, 'ApplicationImageId', NEW));
    expect(error.name).toBe('StackNotRollable');
    expect(error.message).toContain(
      'parameter ApplicationImageId of stack prod-ecs is an SSM-parameter type (/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id)',
    );
  });

  it('keeps other SSM-typed parameters by previous value', () => {
    const view = stack('UPDATE_COMPLETE', [
      { key: 'LatestLinux', value: '/aws/service/x', resolvedValue: 'ami-0ccccccccccccccccc' },
      { key: 'ApplicationImageId', value: OLD },
    ]);
    const plan = planImageUpdate(view, 'ApplicationImageId', NEW);
    expect(plan).toEqual({
      kind: 'update',
      previousAmiId: OLD,
      parameters: [
        { ParameterKey: 'LatestLinux', UsePreviousValue: true },
        { ParameterKey: 'ApplicationImageId', ParameterValue: NEW },
      ],
    });
  });

  it('treats a parameter without a value as an empty previous image', () => {
    const plan = planImageUpdate(stack('CREATE_COMPLETE', [{ key: 'ApplicationImageId' }]), 'ApplicationImageId', NEW);
    expect(plan.previousAmiId).toBe('');
    expect(plan.kind).toBe('update');
  });
});

describe('isBusy', () => {
  it('is true for every *_IN_PROGRESS status only', () => {
    expect(isBusy('UPDATE_IN_PROGRESS')).toBe(true);
    expect(isBusy('REVIEW_IN_PROGRESS')).toBe(true);
    expect(isBusy('UPDATE_COMPLETE')).toBe(false);
    expect(isBusy('UPDATE_ROLLBACK_FAILED')).toBe(false);
  });
});

describe('updateProgress', () => {
  it.each([
    ['UPDATE_COMPLETE', 'complete'],
    ['UPDATE_IN_PROGRESS', 'in-progress'],
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'in-progress'],
    ['UPDATE_ROLLBACK_IN_PROGRESS', 'in-progress'],
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'in-progress'],
    ['UPDATE_ROLLBACK_COMPLETE', 'rolled-back'],
    ['UPDATE_ROLLBACK_FAILED', 'rollback-failed'],
    ['UPDATE_FAILED', 'rollback-failed'],
    ['CREATE_COMPLETE', 'unexpected'],
    ['DELETE_IN_PROGRESS', 'unexpected'],
    ['DELETE_COMPLETE', 'unexpected'],
    ['ROLLBACK_COMPLETE', 'unexpected'],
    ['UNKNOWN', 'unexpected'],
  ])('%s is %s', (status, progress) => {
    expect(updateProgress(status)).toBe(progress);
  });
});

describe('rootCauseOfFailure', () => {
  const since = new Date('2026-01-01T10:00:00Z');
  const at = (seconds: number) => new Date(since.getTime() + seconds * 1000);

  it('is the earliest resource failure since the update began', () => {
    expect(
      rootCauseOfFailure(
        [
          // newest first, as CloudFormation pages them
          { timestamp: at(50), logicalResourceId: 'prod-ecs', resourceStatus: 'UPDATE_ROLLBACK_IN_PROGRESS', resourceStatusReason: 'The following resource(s) failed to update: [AutoScalingGroup]' },
          { timestamp: at(40), logicalResourceId: 'Listener', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'Something later went wrong' },
          { timestamp: at(30), logicalResourceId: 'AutoScalingGroup', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'Received 0 SUCCESS signal(s) out of 1' },
          { timestamp: at(10), logicalResourceId: 'LaunchTemplate', resourceStatus: 'UPDATE_COMPLETE' },
        ],
        since,
      ),
    ).toBe('AutoScalingGroup: Received 0 SUCCESS signal(s) out of 1');
  });

  it('ignores cancellations caused by the first failure', () => {
    expect(
      rootCauseOfFailure(
        [
          { timestamp: at(20), logicalResourceId: 'Service', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'Image not found' },
          { timestamp: at(5), logicalResourceId: 'Other', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'Resource update cancelled' },
        ],
        since,
      ),
    ).toBe('Service: Image not found');
  });

  it('ignores failures from before the update (someone else\'s)', () => {
    expect(
      rootCauseOfFailure(
        [
          { timestamp: at(20), logicalResourceId: 'Mine', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'mine' },
          { timestamp: at(-60), logicalResourceId: 'Theirs', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'theirs' },
        ],
        since,
      ),
    ).toBe('Mine: mine');
    expect(
      rootCauseOfFailure([{ timestamp: at(-1), logicalResourceId: 'Theirs', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'x' }], since),
    ).toBeUndefined();
  });

  it('ignores failures without a reason and says "a resource" when the id is missing', () => {
    expect(rootCauseOfFailure([{ timestamp: at(1), logicalResourceId: 'X', resourceStatus: 'UPDATE_FAILED' }], since)).toBeUndefined();
    expect(rootCauseOfFailure([{ timestamp: at(1), resourceStatus: 'CREATE_FAILED', resourceStatusReason: 'boom' }], since)).toBe('a resource: boom');
  });

  it('is undefined when nothing failed', () => {
    expect(rootCauseOfFailure([], since)).toBeUndefined();
    expect(rootCauseOfFailure([{ timestamp: at(1), resourceStatus: 'UPDATE_COMPLETE', resourceStatusReason: 'fine' }], since)).toBeUndefined();
  });
});

describe('isNoUpdatesError', () => {
  it('recognises CloudFormation\'s "No updates" ValidationError', () => {
    expect(isNoUpdatesError(Object.assign(new Error('No updates are to be performed.'), { name: 'ValidationError' }))).toBe(true);
  });

  it('rejects other errors and non-errors', () => {
    expect(isNoUpdatesError(Object.assign(new Error('Stack with id x does not exist'), { name: 'ValidationError' }))).toBe(false);
    expect(isNoUpdatesError('No updates are to be performed.')).toBe(false);
    expect(isNoUpdatesError(undefined)).toBe(false);
  });
});

describe('updateAcceptedWith', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 11, minute));
  const ev = (minute: number, token: string | undefined, resourceStatus = 'UPDATE_IN_PROGRESS'): StackEventView => ({
    timestamp: at(minute),
    logicalResourceId: 'prod-ecs',
    resourceStatus,
    clientRequestToken: token,
  });

  it('is the earliest event carrying the token: when CloudFormation took the update', () => {
    // newest first, as CloudFormation pages them
    const events = [ev(9, 'rollout-prod-ecs-weekly-1', 'UPDATE_COMPLETE'), ev(5, 'other'), ev(3, 'rollout-prod-ecs-weekly-1'), ev(1, undefined)];
    expect(updateAcceptedWith(events, 'rollout-prod-ecs-weekly-1')).toEqual(ev(3, 'rollout-prod-ecs-weekly-1'));
  });

  it('is undefined when no event carries the token, or there are no events', () => {
    expect(updateAcceptedWith([ev(3, 'rollback-prod-ecs-weekly-1'), ev(2, undefined)], 'rollout-prod-ecs-weekly-1')).toBeUndefined();
    expect(updateAcceptedWith([], 'rollout-prod-ecs-weekly-1')).toBeUndefined();
  });

  it('does not mistake another run\'s or purpose\'s token for its own', () => {
    expect(updateAcceptedWith([ev(3, 'rollout-prod-ecs-weekly-10')], 'rollout-prod-ecs-weekly-1')).toBeUndefined();
  });
});

describe('deadlineAfter', () => {
  it('adds the bound in minutes to an ISO time or a Date', () => {
    expect(deadlineAfter('2026-01-01T11:00:00.000Z', 240).toISOString()).toBe('2026-01-01T15:00:00.000Z');
    expect(deadlineAfter(new Date('2026-01-01T23:30:00.000Z'), 45).toISOString()).toBe('2026-01-02T00:15:00.000Z');
    expect(deadlineAfter('2026-01-01T11:00:00.000Z', 0.5).toISOString()).toBe('2026-01-01T11:00:30.000Z');
  });

  it('gives an invalid date for an unreadable start rather than a wrong one', () => {
    expect(Number.isNaN(deadlineAfter('not a date', 10).getTime())).toBe(true);
  });
});
