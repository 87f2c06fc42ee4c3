import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, type CheckStackUpdateEvent } from '../../../functions/check-stack-update/handler';
import { caught, freezeTime, useEnv } from './env';

const cfnMock = mockClient(CloudFormationClient);
const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const REQUESTED = '2026-01-01T11:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(REQUESTED) + seconds * 1000);

useEnv({ AWS_REGION: 'eu-west-1' });

const event: CheckStackUpdateEvent = {
  executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:m:weekly-1',
  target: { stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ApplicationImageId' },
  amiId: NEW,
  requestedAt: REQUESTED,
  deadline: '2026-01-01T13:00:00.000Z',
};

function stack(status: string, image = NEW, reason?: string): Stack {
  return {
    StackName: 'prod-ecs',
    CreationTime: new Date(),
    StackStatus: status as Stack['StackStatus'],
    StackStatusReason: reason,
    Parameters: [{ ParameterKey: 'ApplicationImageId', ParameterValue: image }],
  };
}

function failure(seconds: number, id: string, reason: string, status = 'UPDATE_FAILED'): StackEvent {
  return {
    StackId: 'id',
    EventId: `${id}-${seconds}`,
    StackName: 'prod-ecs',
    Timestamp: at(seconds),
    LogicalResourceId: id,
    ResourceStatus: status as StackEvent['ResourceStatus'],
    ResourceStatusReason: reason,
  };
}

function describes(s: Stack) {
  cfnMock.on(DescribeStacksCommand, { StackName: 'prod-ecs' }).resolves({ Stacks: [s] });
}

beforeEach(() => {
  cfnMock.reset();
  cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
});
afterEach(() => jest.useRealTimers());
afterAll(() => cfnMock.restore());

describe('check-stack-update handler', () => {
  it.each(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'])(
    'fails with StackUpdateInProgress while the stack is %s before the deadline (the state machine retries)',
    async (status) => {
      freezeTime('2026-01-01T12:59:59.000Z');
      describes(stack(status));
      const error = await caught(handler(event));
      expect(error.name).toBe('StackUpdateInProgress');
      expect(error.message).toBe(`stack prod-ecs is ${status}`);
      expect(cfnMock).not.toHaveReceivedCommand(DescribeStackEventsCommand);
    },
  );

  it.each(['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS'])(
    'fails with StackUpdateTimedOut once the stack is still %s at the deadline, cancelling nothing',
    async (status) => {
      freezeTime('2026-01-01T13:00:00.000Z');
      describes(stack(status));
      const error = await caught(handler(event));
      expect(error.name).toBe('StackUpdateTimedOut');
      expect(error.message).toBe(
        `stack prod-ecs is still ${status} 120 minutes after the update was requested (bound: maxRolloutMinutes); the pipeline stopped waiting and did not cancel it`,
      );
      expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(1);
      expect(cfnMock).not.toHaveReceivedCommand(DescribeStackEventsCommand);
    },
  );

  it('judges the deadline from the event, not from a bound of its own', async () => {
    freezeTime('2026-01-01T11:01:00.000Z');
    describes(stack('UPDATE_IN_PROGRESS'));
    expect((await caught(handler({ ...event, deadline: '2026-01-01T11:00:30.000Z' }))).name).toBe('StackUpdateTimedOut');
    expect((await caught(handler({ ...event, deadline: '2026-01-02T11:00:00.000Z' }))).name).toBe('StackUpdateInProgress');
  });

  it('returns the status and when it settled once the update completed with the image', async () => {
    const now = freezeTime('2026-01-01T11:12:00.000Z');
    describes(stack('UPDATE_COMPLETE'));
    await expect(handler(event)).resolves.toEqual({ status: 'UPDATE_COMPLETE', settledAt: now.toISOString() });
  });

  it('fails with StackChangedElsewhere when the update completed with another image', async () => {
    describes(stack('UPDATE_COMPLETE', OLD));
    const error = await caught(handler(event));
    expect(error.name).toBe('StackChangedElsewhere');
    expect(error.message).toBe(`stack prod-ecs finished updating with ApplicationImageId=${OLD}, not ${NEW}: someone else updated it`);
  });

  it('fails with StackUpdateRolledBack carrying the root cause from the stack events', async () => {
    describes(stack('UPDATE_ROLLBACK_COMPLETE', OLD, 'The following resource(s) failed to update: [AutoScalingGroup]'));
    cfnMock.on(DescribeStackEventsCommand, { StackName: 'prod-ecs' }).resolves({
      StackEvents: [
        failure(60, 'Service', 'Resource update cancelled'),
        failure(40, 'AutoScalingGroup', 'Received 0 SUCCESS signal(s) out of 1 within the specified timeout'),
        failure(-600, 'Older', 'an earlier, unrelated failure'),
      ],
    });
    const error = await caught(handler(event));
    expect(error.name).toBe('StackUpdateRolledBack');
    expect(error.message).toBe(
      `CloudFormation rolled stack prod-ecs back to ${OLD}: AutoScalingGroup: Received 0 SUCCESS signal(s) out of 1 within the specified timeout`,
    );
    expect(cfnMock).toHaveReceivedCommandWith(DescribeStackEventsCommand, { StackName: 'prod-ecs' });
  });

  it('keeps the StackUpdateRolledBack name when the root cause quotes a throttling message', async () => {
    describes(stack('UPDATE_ROLLBACK_COMPLETE', OLD));
    cfnMock.on(DescribeStackEventsCommand).resolves({
      StackEvents: [failure(5, 'LaunchTemplate', 'Resource handler returned message: "Rate exceeded (Service: Ec2, Status Code: 400)"')],
    });
    const error = await caught(handler(event));
    expect(error.name).toBe('StackUpdateRolledBack');
    expect(error.message).toContain('LaunchTemplate: Resource handler returned message: "Rate exceeded');
  });

  it('falls back to the stack status reason, then to a pointer at the events', async () => {
    describes(stack('UPDATE_ROLLBACK_COMPLETE', OLD, 'The following resource(s) failed to update: [AutoScalingGroup]'));
    expect((await caught(handler(event))).message).toBe(
      `CloudFormation rolled stack prod-ecs back to ${OLD}: The following resource(s) failed to update: [AutoScalingGroup]`,
    );
    describes(stack('UPDATE_ROLLBACK_COMPLETE', OLD));
    expect((await caught(handler(event))).message).toBe(`CloudFormation rolled stack prod-ecs back to ${OLD}: see the stack events`);
  });

  it('says "its previous image" when the rolled-back stack no longer shows the image parameter', async () => {
    describes({ ...stack('UPDATE_ROLLBACK_COMPLETE', OLD, 'rolled back'), Parameters: [] });
    expect((await caught(handler(event))).message).toBe('CloudFormation rolled stack prod-ecs back to its previous image: rolled back');
  });

  it.each(['UPDATE_ROLLBACK_FAILED', 'UPDATE_FAILED'])('fails with StackRollbackFailed when the stack is %s', async (status) => {
    describes(stack(status, OLD));
    cfnMock.on(DescribeStackEventsCommand).resolves({
      StackEvents: [failure(90, 'AutoScalingGroup', 'Rollback failed: instance i-1 failed to terminate', 'UPDATE_ROLLBACK_FAILED')],
    });
    const error = await caught(handler(event));
    expect(error.name).toBe('StackRollbackFailed');
    expect(error.message).toBe(`stack prod-ecs is ${status}: AutoScalingGroup: Rollback failed: instance i-1 failed to terminate`);
  });

  it('fails with StackNotRollable in a state an update cannot leave behind', async () => {
    describes(stack('CREATE_COMPLETE'));
    const error = await caught(handler(event));
    expect(error.name).toBe('StackNotRollable');
    expect(error.message).toBe('stack prod-ecs is in an unexpected state CREATE_COMPLETE');
  });

  it('fails with StackNotRollable when the stack is gone', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id prod-ecs does not exist' }));
    expect((await caught(handler(event))).name).toBe('StackNotRollable');
  });

  it('turns a throttled DescribeStacks into TransientAwsError', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(new CloudFormationServiceException({ name: 'Throttling', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    expect((await caught(handler(event))).name).toBe('TransientAwsError');
  });
});

describe('a failed or rolled-back status read before CloudFormation showed this update', () => {
  const TOKEN = 'rollout-prod-ecs-weekly-1';
  const ours = (seconds: number, status: string): StackEvent => ({ ...failure(seconds, 'prod-ecs', 'User Initiated', status), ClientRequestToken: TOKEN });

  it.each(['UPDATE_ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_FAILED'])('%s without this update\'s events is an earlier update\'s end: still waiting', async (status) => {
    freezeTime('2026-01-01T11:05:00.000Z');
    describes(stack(status, OLD));
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [failure(-600, 'AutoScalingGroup', 'an earlier update failed')] });
    const error = await caught(handler({ ...event, token: TOKEN }));
    expect(error.name).toBe('StackUpdateInProgress');
  });

  it('UPDATE_ROLLBACK_COMPLETE with this update\'s events is this update rolled back', async () => {
    freezeTime('2026-01-01T11:05:00.000Z');
    describes(stack('UPDATE_ROLLBACK_COMPLETE', OLD));
    cfnMock.on(DescribeStackEventsCommand).resolves({
      StackEvents: [failure(120, 'AutoScalingGroup', 'Received 0 SUCCESS signal(s) out of 1'), ours(1, 'UPDATE_IN_PROGRESS')],
    });
    const error = await caught(handler({ ...event, token: TOKEN }));
    expect(error.name).toBe('StackUpdateRolledBack');
    expect(error.message).toBe(`CloudFormation rolled stack prod-ecs back to ${OLD}: AutoScalingGroup: Received 0 SUCCESS signal(s) out of 1`);
  });
});
