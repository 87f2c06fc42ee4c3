import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, type NotifyEvent } from '../../../functions/notify/handler';
import { caught, freezeTime, unsetEnv, useEnv } from './env';

const snsMock = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ecs-ami-pipeline-prod-ops';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-1';

useEnv({ AWS_REGION: 'eu-west-1', STAGE: 'prod', SERVICE_NAME: 'ecs-ami-pipeline', NOTIFICATION_TOPIC_ARN: TOPIC });

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
  snsMock.on(PublishCommand).resolves({ MessageId: 'message-1' });
});
afterEach(() => jest.useRealTimers());
afterAll(() => snsMock.restore());

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
