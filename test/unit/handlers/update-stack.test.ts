import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, requestToken, type UpdateStackEvent } from '../../../functions/update-stack/handler';
import { caught, freezeTime, useEnv } from './env';

const cfnMock = mockClient(CloudFormationClient);
const ddbMock = mockClient(DynamoDBClient);
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const TABLE = 'ecs-ami-pipeline-prod-runs';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';
const OTHER = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-9';
const TOKEN = 'rollout-prod-ecs-weekly-1';
const SINCE = '2026-01-01T11:00:00.000Z';
const cfnError = (name: string, message: string, extra: object = {}) =>
  new CloudFormationServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message, ...extra });
const at = (minutes: number) => new Date(Date.parse(SINCE) + minutes * 60_000);

useEnv({ AWS_REGION: 'eu-west-1', STACK_ROLE_ARN: undefined, RUN_LEDGER_TABLE: TABLE, MAX_ROLLOUT_MINUTES: '120' });

function stack(status = 'UPDATE_COMPLETE', image = OLD): Stack {
  return {
    StackName: 'prod-ecs',
    CreationTime: new Date(),
    StackStatus: status as Stack['StackStatus'],
    Parameters: [
      { ParameterKey: 'VpcId', ParameterValue: 'vpc-1' },
      { ParameterKey: 'ApplicationImageId', ParameterValue: image },
      { ParameterKey: 'DesiredCount', ParameterValue: '3' },
    ],
  };
}

function stackEvent(minutes: number, token: string | undefined, status = 'UPDATE_IN_PROGRESS'): StackEvent {
  return {
    StackId: 'id',
    EventId: `e-${minutes}`,
    StackName: 'prod-ecs',
    LogicalResourceId: 'prod-ecs',
    Timestamp: at(minutes),
    ResourceStatus: status as StackEvent['ResourceStatus'],
    ClientRequestToken: token,
  };
}

function event(extra: Partial<UpdateStackEvent> = {}): UpdateStackEvent {
  return {
    executionArn: EXEC,
    runId: 'weekly-1',
    target: { stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ApplicationImageId' },
    amiId: NEW,
    purpose: 'rollout',
    since: SINCE,
    ...extra,
  };
}

function lockHeldBy(owner: string | undefined) {
  ddbMock.on(GetItemCommand).resolves(owner ? { Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: owner }, acquiredAt: { S: SINCE } } } : {});
}

beforeEach(() => {
  cfnMock.reset();
  ddbMock.reset();
  lockHeldBy(EXEC);
  ddbMock.on(PutItemCommand).resolves({});
  cfnMock.on(DescribeStacksCommand, { StackName: 'prod-ecs' }).resolves({ Stacks: [stack()] });
  cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
  cfnMock.on(UpdateStackCommand).resolves({ StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/prod-ecs/1' });
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  cfnMock.restore();
  ddbMock.restore();
});

describe('update-stack handler', () => {
  it('updates only the image parameter, reusing the previous template and every other value', async () => {
    const now = freezeTime('2026-01-01T11:05:00.000Z');
    await expect(handler(event())).resolves.toEqual({
      previousAmiId: OLD,
      changed: true,
      requestedAt: now.toISOString(),
      deadline: '2026-01-01T13:05:00.000Z',
      token: TOKEN,
    });
    expect(cfnMock).toHaveReceivedCommandTimes(UpdateStackCommand, 1);
    expect(cfnMock.commandCalls(UpdateStackCommand)[0]!.args[0].input).toEqual({
      StackName: 'prod-ecs',
      UsePreviousTemplate: true,
      Parameters: [
        { ParameterKey: 'VpcId', UsePreviousValue: true },
        { ParameterKey: 'ApplicationImageId', ParameterValue: NEW },
        { ParameterKey: 'DesiredCount', UsePreviousValue: true },
      ],
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
      ClientRequestToken: TOKEN,
      RoleARN: undefined,
    });
    // The fleet was this run's already: nothing written to the ledger.
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: { pk: { S: 'fleet-lock' } }, ConsistentRead: true });
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('takes a free fleet with a conditional write before updating (a redriven run)', async () => {
    const now = freezeTime('2026-01-01T11:05:00.000Z');
    lockHeldBy(undefined);
    await expect(handler(event())).resolves.toMatchObject({ changed: true });
    expect(ddbMock).toHaveReceivedCommandTimes(PutItemCommand, 1);
    expect(ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: EXEC }, acquiredAt: { S: now.toISOString() } },
      ConditionExpression: 'attribute_not_exists(pk) OR ownerExecutionArn = :me',
      ExpressionAttributeValues: { ':me': { S: EXEC } },
    });
    expect(cfnMock).toHaveReceivedCommandTimes(UpdateStackCommand, 1);
  });

  it('changes nothing when another run holds the fleet (FleetHeldByAnotherRun)', async () => {
    lockHeldBy(OTHER);
    const error = await caught(handler(event()));
    expect(error.name).toBe('FleetHeldByAnotherRun');
    expect(error.message).toBe(`run ${OTHER} holds the fleet; this run (${EXEC}) changes nothing more`);
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
    expect(cfnMock).not.toHaveReceivedAnyCommand();
  });

  it('changes nothing when another run wins the free fleet first, naming the winner', async () => {
    ddbMock.on(GetItemCommand).resolvesOnce({}).resolves({ Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: OTHER }, acquiredAt: { S: SINCE } } });
    ddbMock.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    const error = await caught(handler(event()));
    expect(error.name).toBe('FleetHeldByAnotherRun');
    expect(error.message).toContain(`run ${OTHER} holds the fleet`);
    expect(cfnMock).not.toHaveReceivedAnyCommand();
  });

  it('runs the update under the configured CloudFormation service role', async () => {
    process.env.STACK_ROLE_ARN = 'arn:aws:iam::123456789012:role/cfn-ecs';
    await handler(event());
    expect(cfnMock).toHaveReceivedCommandWith(UpdateStackCommand, { RoleARN: 'arn:aws:iam::123456789012:role/cfn-ecs' });
  });

  it('uses a distinct request token for the rollback of the same stack', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', NEW)] });
    const result = await handler(event({ amiId: OLD, purpose: 'rollback' }));
    expect(result).toMatchObject({ previousAmiId: NEW, changed: true, token: 'rollback-prod-ecs-weekly-1' });
    expect(cfnMock).toHaveReceivedCommandWith(UpdateStackCommand, { ClientRequestToken: 'rollback-prod-ecs-weekly-1' });
  });

  it('sends nothing and reports no change when the stack already runs the image and its events carry no token of ours', async () => {
    freezeTime('2026-01-01T11:05:00.000Z');
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', NEW)] });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [stackEvent(2, 'someone-elses-token', 'UPDATE_COMPLETE'), stackEvent(1, undefined)] });
    await expect(handler(event())).resolves.toEqual({
      previousAmiId: NEW,
      changed: false,
      requestedAt: '2026-01-01T11:05:00.000Z',
      deadline: '2026-01-01T13:05:00.000Z',
      token: TOKEN,
    });
    expect(cfnMock).toHaveReceivedCommandWith(DescribeStackEventsCommand, { StackName: 'prod-ecs' });
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('recognises its own finished update when the stack already runs the image (a retry after a lost answer)', async () => {
    freezeTime('2026-01-01T11:20:00.000Z');
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', NEW)] });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [stackEvent(12, TOKEN, 'UPDATE_COMPLETE'), stackEvent(3, TOKEN)] });
    await expect(handler(event())).resolves.toEqual({
      previousAmiId: null,
      changed: true,
      requestedAt: at(3).toISOString(),
      deadline: at(123).toISOString(),
      token: TOKEN,
    });
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('does not take a token event from before the cluster\'s step began for its own', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', NEW)] });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [stackEvent(-5, TOKEN, 'UPDATE_COMPLETE')] });
    await expect(handler(event())).resolves.toMatchObject({ previousAmiId: NEW, changed: false });
  });

  it('rejoins its own update still in progress instead of waiting for it as someone else\'s', async () => {
    freezeTime('2026-01-01T11:10:00.000Z');
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_IN_PROGRESS', NEW)] });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [stackEvent(4, TOKEN, 'UPDATE_IN_PROGRESS'), stackEvent(1, 'other')] });
    await expect(handler(event())).resolves.toEqual({
      previousAmiId: null,
      changed: true,
      requestedAt: at(4).toISOString(),
      deadline: at(124).toISOString(),
      token: TOKEN,
    });
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('reads every page of events since the step began when looking for its token', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_IN_PROGRESS', OLD)] });
    cfnMock
      .on(DescribeStackEventsCommand, { NextToken: undefined })
      .resolves({ StackEvents: [stackEvent(9, 'other')], NextToken: 'p2' })
      .on(DescribeStackEventsCommand, { NextToken: 'p2' })
      .resolves({ StackEvents: [stackEvent(2, TOKEN)] });
    await expect(handler(event())).resolves.toMatchObject({ changed: true, previousAmiId: null });
    expect(cfnMock).toHaveReceivedCommandTimes(DescribeStackEventsCommand, 2);
  });

  it('fails with StackBusy while someone else\'s update runs, before the deadline, sending no update', async () => {
    freezeTime('2026-01-01T12:59:00.000Z');
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_IN_PROGRESS')] });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [stackEvent(1, 'someone-else')] });
    const error = await caught(handler(event()));
    expect(error.name).toBe('StackBusy');
    expect(error.message).toBe('stack prod-ecs is busy (UPDATE_IN_PROGRESS); waiting for it to settle before updating it');
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('fails with StackBusyTooLong once the stack stayed busy past since + MAX_ROLLOUT_MINUTES', async () => {
    freezeTime('2026-01-01T13:00:00.000Z');
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_ROLLBACK_IN_PROGRESS')] });
    const error = await caught(handler(event()));
    expect(error.name).toBe('StackBusyTooLong');
    expect(error.message).toBe(
      'stack prod-ecs stayed busy (UPDATE_ROLLBACK_IN_PROGRESS) for 120 minutes, past the 120-minute bound (maxRolloutMinutes); the pipeline did not update it',
    );
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('falls back to 240 minutes when MAX_ROLLOUT_MINUTES is not set, and refuses a bad value', async () => {
    delete process.env.MAX_ROLLOUT_MINUTES;
    freezeTime('2026-01-01T14:59:00.000Z');
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_IN_PROGRESS')] });
    expect((await caught(handler(event()))).name).toBe('StackBusy');
    freezeTime('2026-01-01T15:00:00.000Z');
    expect((await caught(handler(event()))).name).toBe('StackBusyTooLong');
    process.env.MAX_ROLLOUT_MINUTES = '0';
    const error = await caught(handler(event()));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('MAX_ROLLOUT_MINUTES is "0"');
  });

  it('treats "No updates are to be performed" as success without change', async () => {
    cfnMock.on(UpdateStackCommand).rejects(cfnError('ValidationError', 'No updates are to be performed.'));
    await expect(handler(event())).resolves.toMatchObject({ previousAmiId: OLD, changed: false });
  });

  it('fails with StackNotRollable when the stack does not exist', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(cfnError('ValidationError', 'Stack with id prod-ecs does not exist'));
    const error = await caught(handler(event()));
    expect(error.name).toBe('StackNotRollable');
    expect(error.message).toBe('stack prod-ecs does not exist in this account and region; fix the waves param or create the stack');
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('fails with StackNotRollable when the image parameter is missing', async () => {
    const error = await caught(handler(event({ target: { stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ImageId' } })));
    expect(error.name).toBe('StackNotRollable');
    expect(error.message).toContain('has no parameter ImageId (its parameters: VpcId, ApplicationImageId, DesiredCount)');
  });

  it('fails with StackNotRollable for a stack CloudFormation cannot update', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_ROLLBACK_FAILED')] });
    expect((await caught(handler(event()))).name).toBe('StackNotRollable');
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('turns throttling into TransientAwsError', async () => {
    cfnMock.on(UpdateStackCommand).rejects(cfnError('Throttling', 'Rate exceeded'));
    const error = await caught(handler(event()));
    expect(error.name).toBe('TransientAwsError');
    expect(error.message).toBe('Throttling: Rate exceeded');
  });

  it('passes other CloudFormation refusals on as they are', async () => {
    cfnMock.on(UpdateStackCommand).rejects(cfnError('InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_X]'));
    const error = await caught(handler(event()));
    expect(error.name).toBe('InsufficientCapabilitiesException');
  });
});

describe('requestToken', () => {
  it('is letters, digits and hyphens, starting with the purpose', () => {
    expect(requestToken('manual_2026-01-01T10:00:00.000Z', 'rollout', 'prod-ecs')).toBe('rollout-prod-ecs-manual-2026-01-01T10-00-00-000Z');
  });

  it('keeps at most 128 characters', () => {
    const token = requestToken('r'.repeat(80), 'rollback', 's'.repeat(128));
    expect(token).toHaveLength(128);
    expect(token).toMatch(/^rollback-s+-[0-9a-f]{16}$/);
  });

  it('keeps tokens of different runs apart when the run id no longer fits', () => {
    const long = 's'.repeat(120);
    expect(requestToken('weekly-1', 'rollout', long)).not.toBe(requestToken('weekly-2', 'rollout', long));
  });
});
