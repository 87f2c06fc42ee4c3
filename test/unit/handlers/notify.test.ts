import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, type NotifyEvent } from '../../../functions/notify/handler';
import { caught, freezeTime, unsetEnv, useEnv } from './env';

const snsMock = mockClient(SNSClient);
const ddbMock = mockClient(DynamoDBClient);
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ecs-ami-pipeline-prod-ops';
const TABLE = 'ecs-ami-pipeline-prod-runs';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-1';
const MARKER = { pk: { S: `notified#${EXEC}` } };

useEnv({ AWS_REGION: 'eu-west-1', STAGE: 'prod', SERVICE_NAME: 'ecs-ami-pipeline', NOTIFICATION_TOPIC_ARN: TOPIC, RUN_LEDGER_TABLE: TABLE });

let calls: string[] = [];

const event: NotifyEvent = {
  execution: { id: EXEC, name: 'manual-1', startTime: '2026-01-01T10:00:00.000Z' },
  document: {
    request: { trigger: 'manual', dryrun: true },
    error: { Error: 'InvalidRequest', Cause: JSON.stringify({ errorType: 'InvalidRequest', errorMessage: 'dryrun: unknown field; the input accepts trigger' }) },
    outcome: { status: 'REJECTED', step: 'request' },
  },
};

beforeEach(() => {
  snsMock.reset();
  ddbMock.reset();
  calls = [];
  snsMock.on(PublishCommand).callsFake(() => {
    calls.push('publish');
    return { MessageId: 'message-1' };
  });
  ddbMock.on(GetItemCommand).callsFake(() => {
    calls.push('read marker');
    return {};
  });
  ddbMock.on(PutItemCommand).callsFake(() => {
    calls.push('write marker');
    return {};
  });
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  snsMock.restore();
  ddbMock.restore();
});

describe('notify handler', () => {
  it('publishes the subject, the message and status/stage/step as String message attributes', async () => {
    freezeTime('2026-01-01T10:00:42.000Z');
    await expect(handler(event)).resolves.toEqual({
      messageId: 'message-1',
      subject: '[ecs-ami-pipeline prod] REJECTED: invalid input (dryrun)',
      status: 'REJECTED',
      stage: 'prod',
      step: 'request',
    });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = snsMock.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.TopicArn).toBe(TOPIC);
    expect(input.Subject).toBe('[ecs-ami-pipeline prod] REJECTED: invalid input (dryrun)');
    expect(input.MessageAttributes).toEqual({
      status: { DataType: 'String', StringValue: 'REJECTED' },
      stage: { DataType: 'String', StringValue: 'prod' },
      step: { DataType: 'String', StringValue: 'request' },
    });
    expect(input.Message).toContain('Run:      manual-1 (trigger: unknown, mode: unknown)');
    expect(input.Message).toContain('Duration: 42s');
    expect(input.Message).toContain('The request was rejected: InvalidRequest: dryrun: unknown field; the input accepts trigger.');
    expect(input.Message).toContain(`Execution:  https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXEC}`);
  });

  it('folds in a wave rolled but not assessed: a cluster left needing a person makes the message and the marker CRITICAL', async () => {
    const wave = { name: 'prod', clusters: [{ stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ApplicationImageId' }] };
    const stuck = {
      stackName: 'prod-ecs',
      clusterName: 'prod',
      amiId: 'ami-0dddddddddddddddd',
      outcome: { ending: 'update-timed-out' as const, step: 'stack' },
      baseline: { amiId: 'ami-0aaaaaaaaaaaaaaaa' },
      update: { previousAmiId: 'ami-0aaaaaaaaaaaaaaaa', changed: true },
      registration: null,
      rollbackRegistration: null,
      error: { Error: 'StackUpdateInProgress', Cause: 'stack prod-ecs is UPDATE_IN_PROGRESS' },
      rollbackError: null,
    };
    const unassessed: NotifyEvent = {
      execution: event.execution,
      document: {
        rollout: { nextWave: 0, status: 'IN_PROGRESS', waves: [] },
        currentWave: { wave, approval: null, results: [stuck] },
        error: { Error: 'Lambda.Unknown', Cause: 'assess-wave crashed' },
        outcome: { status: 'FAILED', step: 'rollout' },
      },
    };
    await expect(handler(unassessed)).resolves.toMatchObject({ status: 'CRITICAL', step: 'rollout' });
    const input = snsMock.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.MessageAttributes?.status).toEqual({ DataType: 'String', StringValue: 'CRITICAL' });
    expect(input.Message).toContain('prod-ecs: NEEDS A PERSON');
    expect(ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input.Item?.status).toEqual({ S: 'CRITICAL' });
  });

  it('reads the run\'s marker first, publishes, then marks the run notified for a year', async () => {
    const now = freezeTime('2026-01-01T10:00:42.000Z');
    await handler(event);
    expect(calls).toEqual(['read marker', 'publish', 'write marker']);
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: MARKER, ConsistentRead: true });
    expect(ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        ...MARKER,
        kind: { S: 'run' },
        status: { S: 'REJECTED' },
        notifiedAt: { S: now.toISOString() },
        messageId: { S: 'message-1' },
        expiresAt: { N: String(now.getTime() / 1000 + 365 * 24 * 3600) },
      },
    });
  });

  it('sends nothing twice: a marker from an earlier attempt ends the retry', async () => {
    ddbMock.on(GetItemCommand).resolves({
      Item: { ...MARKER, kind: { S: 'run' }, status: { S: 'REJECTED' }, messageId: { S: 'message-0' }, notifiedAt: { S: '2026-01-01T10:00:40.000Z' } },
    });
    await expect(handler(event)).resolves.toEqual({ messageId: 'message-0', status: 'REJECTED', alreadySent: true });
    expect(snsMock).not.toHaveReceivedAnyCommand();
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('sends nothing after an abnormal-end alert for the same run', async () => {
    ddbMock.on(GetItemCommand).resolves({ Item: { ...MARKER, kind: { S: 'alert' }, status: { S: 'FAILED' }, notifiedAt: { S: '2026-01-01T10:00:40.000Z' } } });
    await expect(handler(event)).resolves.toEqual({ messageId: undefined, status: 'FAILED', alreadySent: true });
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });

  it('writes no marker when the publish failed, so a retry sends the message', async () => {
    snsMock.on(PublishCommand).rejects(new SNSServiceException({ name: 'AuthorizationError', $fault: 'client', $metadata: {}, message: 'not allowed' }));
    expect((await caught(handler(event))).name).toBe('AuthorizationError');
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('fails when the run ledger is not configured, before publishing', async () => {
    unsetEnv('RUN_LEDGER_TABLE');
    expect((await caught(handler(event))).message).toBe('environment variable RUN_LEDGER_TABLE is not set; it comes from serverless.yml');
    expect(snsMock).not.toHaveReceivedAnyCommand();
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it('names the service from the default when SERVICE_NAME is not set', async () => {
    unsetEnv('SERVICE_NAME');
    process.env.STAGE = 'dev';
    await handler(event);
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { Subject: '[ecs-ami-pipeline dev] REJECTED: invalid input (dryrun)' });
  });

  it('fails with a clear error, publishing nothing, when the topic is not configured', async () => {
    unsetEnv('NOTIFICATION_TOPIC_ARN');
    const error = await caught(handler(event));
    expect(error.message).toBe('environment variable NOTIFICATION_TOPIC_ARN is not set; it comes from serverless.yml');
    expect(snsMock).not.toHaveReceivedAnyCommand();
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('fails with a clear error when the stage is not configured', async () => {
    unsetEnv('STAGE');
    expect((await caught(handler(event))).message).toBe('environment variable STAGE is not set; it comes from serverless.yml');
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });

  it('turns a throttled Publish into TransientAwsError and passes other errors on', async () => {
    snsMock.on(PublishCommand).rejectsOnce(new SNSServiceException({ name: 'Throttled', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    expect((await caught(handler(event))).name).toBe('TransientAwsError');
    snsMock.on(PublishCommand).rejects(new SNSServiceException({ name: 'AuthorizationError', $fault: 'client', $metadata: {}, message: 'not allowed' }));
    expect((await caught(handler(event))).name).toBe('AuthorizationError');
  });
});
