import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { GetParametersCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { ClusterRecord } from '../../../functions/lib/contracts';
import type { ExecutionStatusChange } from '../../../functions/lib/decisions/run-end';
import { handler, type RunEndedEvent } from '../../../functions/run-ended/handler';
import { caught, freezeTime, unsetEnv, useEnv } from './env';

const ddbMock = mockClient(DynamoDBClient);
const snsMock = mockClient(SNSClient);
const ssmMock = mockClient(SSMClient);
const cfnMock = mockClient(CloudFormationClient);

const PREFIX = '/ecs-ami-pipeline/prod';
const TABLE = 'ecs-ami-pipeline-prod-runs';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ecs-ami-pipeline-prod-ops';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';
const OTHER = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-9';
const CHILD = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod/Roll-the-wave:0b1c2d3e-aaaa-bbbb-cccc-ddddeeeeffff';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const NOW = '2026-01-01T12:00:00.000Z';
const LOCK_KEY = { pk: { S: 'fleet-lock' } };
const MARKER_KEY = { pk: { S: `notified#${EXEC}` } };
const WAVES = [
  { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev' }] },
  { name: 'prod', clusters: [{ stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ImageId' }] },
];

useEnv({
  AWS_REGION: 'eu-west-1',
  RUN_LEDGER_TABLE: TABLE,
  STAGE: 'prod',
  SERVICE_NAME: 'ecs-ami-pipeline',
  NOTIFICATION_TOPIC_ARN: TOPIC,
  PARAMETER_PREFIX: PREFIX,
  CLUSTER_WAVES: JSON.stringify(WAVES),
});

function event(detail: Partial<ExecutionStatusChange> = {}): RunEndedEvent {
  return {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: EXEC,
      stateMachineArn: MACHINE,
      name: 'weekly-1',
      status: 'TIMED_OUT',
      startDate: Date.parse('2026-01-01T10:00:00.000Z'),
      stopDate: Date.parse(NOW),
      error: 'States.Timeout',
      cause: null,
      ...detail,
    },
  };
}

function lockHeldBy(owner: string | undefined) {
  ddbMock.on(GetItemCommand, { Key: LOCK_KEY }).resolves(owner ? { Item: { ...LOCK_KEY, ownerExecutionArn: { S: owner }, acquiredAt: { S: '2026-01-01T10:00:00.000Z' } } } : {});
}

function stack(name: string, key: string, image: string): Stack {
  return { StackName: name, CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Parameters: [{ ParameterKey: key, ParameterValue: image }] };
}

function records(byStack: Record<string, string>) {
  ssmMock.on(GetParametersCommand).callsFake(({ Names }: { Names: string[] }) => ({
    Parameters: Names.filter((n) => byStack[n.split('/').pop()!]).map((n) => {
      const stackName = n.split('/').pop()!;
      const record: ClusterRecord = { stackName, clusterName: stackName, amiId: byStack[stackName]!, purpose: 'rollout', runId: 'weekly-0', executionArn: OTHER, confirmedAt: NOW };
      return { Name: n, Value: JSON.stringify(record) };
    }),
  }));
}

let calls: string[] = [];

function published() {
  expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  return snsMock.commandCalls(PublishCommand)[0]!.args[0].input;
}

beforeEach(() => {
  for (const mock of [ddbMock, snsMock, ssmMock, cfnMock]) mock.reset();
  calls = [];
  freezeTime(NOW);
  ddbMock.on(GetItemCommand).resolves({});
  lockHeldBy(EXEC);
  ddbMock.on(DeleteItemCommand).callsFake(() => {
    calls.push('release');
    return {};
  });
  ddbMock.on(PutItemCommand).callsFake(() => {
    calls.push('mark');
    return {};
  });
  snsMock.on(PublishCommand).callsFake(() => {
    calls.push('publish');
    return { MessageId: 'alert-1' };
  });
  cfnMock.on(DescribeStacksCommand, { StackName: 'dev-ecs' }).resolves({ Stacks: [stack('dev-ecs', 'ApplicationImageId', NEW)] });
  cfnMock.on(DescribeStacksCommand, { StackName: 'prod-ecs' }).resolves({ Stacks: [stack('prod-ecs', 'ImageId', NEW)] });
  records({ 'dev-ecs': NEW, 'prod-ecs': OLD });
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  for (const mock of [ddbMock, snsMock, ssmMock, cfnMock]) mock.restore();
});

describe('run-ended handler', () => {
  it('releases the lock the run still held, alerts ops, then marks the run notified', async () => {
    await expect(handler(event())).resolves.toEqual({
      ignore: false,
      release: true,
      alert: true,
      released: true,
      executionArn: EXEC,
      messageId: 'alert-1',
    });
    expect(calls).toEqual(['release', 'publish', 'mark']);
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: LOCK_KEY, ConsistentRead: true });
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: MARKER_KEY, ConsistentRead: true });
    expect(ddbMock.commandCalls(DeleteItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Key: LOCK_KEY,
      ConditionExpression: 'ownerExecutionArn = :me',
      ExpressionAttributeValues: { ':me': { S: EXEC } },
    });
    const input = published();
    expect(input.TopicArn).toBe(TOPIC);
    expect(input.Subject).toBe('[ecs-ami-pipeline prod] TIMED OUT: run weekly-1 timed out before it could notify');
    expect(input.MessageAttributes).toEqual({
      status: { DataType: 'String', StringValue: 'TIMED_OUT' },
      stage: { DataType: 'String', StringValue: 'prod' },
      step: { DataType: 'String', StringValue: 'unknown' },
    });
    expect(input.Message).toContain('Error:    States.Timeout\n');
    expect(input.Message).toContain(
      `  ACTION REQUIRED: check these stacks. Each is off the image its cluster last confirmed, mid-update,\n  or left failed (ContinueUpdateRollback for UPDATE_ROLLBACK_FAILED):\n    prod-ecs (UPDATE_COMPLETE): stack has ${NEW}, last confirmed ${OLD}\n\n`,
    );
    expect(input.Message).not.toContain('dev-ecs:');
    expect(input.Message).toContain('Fleet lock: released (this run held it)');
    expect(ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input.Item).toEqual({
      ...MARKER_KEY,
      kind: { S: 'alert' },
      status: { S: 'TIMED_OUT' },
      notifiedAt: { S: NOW },
      messageId: { S: 'alert-1' },
      expiresAt: { N: String(Date.parse(NOW) / 1000 + 365 * 24 * 3600) },
    });
  });

  it('reads each configured stack\'s image parameter and every cluster record', async () => {
    await handler(event());
    expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'dev-ecs' });
    expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'prod-ecs' });
    expect(ssmMock).toHaveReceivedCommandWith(GetParametersCommand, { Names: [`${PREFIX}/clusters/dev-ecs`, `${PREFIX}/clusters/prod-ecs`] });
  });

  it('says so when every stack names its confirmed image', async () => {
    records({ 'dev-ecs': NEW, 'prod-ecs': NEW });
    await handler(event({ status: 'ABORTED', error: null }));
    const input = published();
    expect(input.Subject).toBe('[ecs-ami-pipeline prod] ABORTED: run weekly-1 was stopped before it could notify');
    expect(input.Message).toContain('Clusters\n  Every configured stack names the image its cluster last confirmed, and none is failed or mid-update.\n');
    expect(input.Message).not.toContain('Error:');
  });

  it('names a stack its failed rollback left on the confirmed image, UPDATE_ROLLBACK_FAILED', async () => {
    // The run's own message ("a cluster needs a person") could not be sent: this alert is all ops get.
    records({ 'dev-ecs': NEW, 'prod-ecs': OLD });
    cfnMock.on(DescribeStacksCommand, { StackName: 'prod-ecs' }).resolves({ Stacks: [{ ...stack('prod-ecs', 'ImageId', OLD), StackStatus: 'UPDATE_ROLLBACK_FAILED' }] });
    await handler(event({ status: 'FAILED', error: 'NotificationFailed' }));
    const input = published();
    expect(input.Message).toContain(`    prod-ecs (UPDATE_ROLLBACK_FAILED): stack has ${OLD}, last confirmed ${OLD}\n`);
    expect(input.Message).toContain('ContinueUpdateRollback');
    expect(input.Message).not.toContain('dev-ecs');
  });

  it('releases but sends nothing when the run (or an earlier delivery) already reached ops', async () => {
    ddbMock.on(GetItemCommand, { Key: MARKER_KEY }).resolves({ Item: { ...MARKER_KEY, kind: { S: 'run' }, status: { S: 'FAILED' }, notifiedAt: { S: NOW } } });
    await expect(handler(event({ status: 'FAILED' }))).resolves.toEqual({ ignore: false, release: true, alert: false, released: true, executionArn: EXEC });
    expect(calls).toEqual(['release']);
    expect(snsMock).not.toHaveReceivedAnyCommand();
    expect(cfnMock).not.toHaveReceivedAnyCommand();
  });

  it('alerts without touching a lock another run holds', async () => {
    lockHeldBy(OTHER);
    const answer = await handler(event({ status: 'FAILED' }));
    expect(answer).toMatchObject({ release: false, alert: true, released: false });
    expect(ddbMock).not.toHaveReceivedCommand(DeleteItemCommand);
    expect(published().Message).toContain('Fleet lock: not held by this run');
  });

  it('says the lock was not released when it went between the read and the release', async () => {
    ddbMock.on(DeleteItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    await expect(handler(event())).resolves.toMatchObject({ release: true, released: false });
    expect(published().Message).toContain('Fleet lock: not held by this run');
  });

  it('releases the lock a run that succeeded still holds (its release step failed), without alerting a run that notified', async () => {
    lockHeldBy(EXEC);
    ddbMock.on(GetItemCommand, { Key: { pk: { S: `notified#${EXEC}` } } }).resolves({ Item: { pk: { S: `notified#${EXEC}` }, kind: { S: 'run' }, status: { S: 'SUCCEEDED' } } });
    await expect(handler(event({ status: 'SUCCEEDED' }))).resolves.toMatchObject({ ignore: false, release: true, released: true, alert: false });
    expect(ddbMock).toHaveReceivedCommand(DeleteItemCommand);
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });

  it.each([['a Distributed Map child', CHILD, 'FAILED']])('ignores %s: no release, no alert', async (_, executionArn, status) => {
    lockHeldBy(executionArn);
    const answer = await handler(event({ executionArn, status }));
    expect(answer).toEqual({ ignore: true, release: false, alert: false, executionArn });
    expect(ddbMock).not.toHaveReceivedCommand(DeleteItemCommand);
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['the cluster records cannot be read', () => ssmMock.on(GetParametersCommand).rejects(new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' }))],
    ['the waves are not configured', () => unsetEnv('CLUSTER_WAVES')],
    ['the parameter prefix is not set', () => unsetEnv('PARAMETER_PREFIX')],
  ])('still alerts when %s, saying the comparison failed', async (_, arrange) => {
    arrange();
    await expect(handler(event())).resolves.toMatchObject({ alert: true, messageId: 'alert-1' });
    expect(published().Message).toContain('Clusters\n  Could not compare the stacks with their confirmed images: check each cluster stack.\n');
    expect(calls).toEqual(['release', 'publish', 'mark']);
  });

  it('counts a stack it cannot describe as having no image', async () => {
    cfnMock
      .on(DescribeStacksCommand, { StackName: 'dev-ecs' })
      .rejects(new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id dev-ecs does not exist' }));
    await handler(event());
    expect(published().Message).toContain(`    dev-ecs: stack has no image, last confirmed ${NEW}\n`);
  });

  it('marks nothing when the alert could not be sent, so a redelivered event tries again', async () => {
    snsMock.on(PublishCommand).rejects(new SNSServiceException({ name: 'AuthorizationError', $fault: 'client', $metadata: {}, message: 'not allowed' }));
    expect((await caught(handler(event()))).name).toBe('AuthorizationError');
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
  });
});
