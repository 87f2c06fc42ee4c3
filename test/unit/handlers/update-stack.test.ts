import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand, UpdateStackCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, requestToken, type UpdateStackEvent } from '../../../functions/update-stack/handler';
import { caught, freezeTime, useEnv } from './env';

const cfnMock = mockClient(CloudFormationClient);
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';
const cfnError = (name: string, message: string, extra: object = {}) =>
  new CloudFormationServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message, ...extra });

useEnv({ AWS_REGION: 'eu-west-1', STACK_ROLE_ARN: undefined });

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

function event(extra: Partial<UpdateStackEvent> = {}): UpdateStackEvent {
  return {
    executionArn: EXEC,
    runId: 'weekly-1',
    target: { stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ApplicationImageId' },
    amiId: NEW,
    purpose: 'rollout',
    ...extra,
  };
}

beforeEach(() => {
  cfnMock.reset();
  cfnMock.on(DescribeStacksCommand, { StackName: 'prod-ecs' }).resolves({ Stacks: [stack()] });
  cfnMock.on(UpdateStackCommand).resolves({ StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/prod-ecs/1' });
});
afterEach(() => jest.useRealTimers());
afterAll(() => cfnMock.restore());

describe('update-stack handler', () => {
  it('updates only the image parameter, reusing the previous template and every other value', async () => {
    const now = freezeTime('2026-01-01T11:00:00.000Z');
    await expect(handler(event())).resolves.toEqual({ stackName: 'prod-ecs', previousAmiId: OLD, changed: true, requestedAt: now.toISOString() });
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
      ClientRequestToken: 'rollout-prod-ecs-weekly-1',
      RoleARN: undefined,
    });
  });

  it('runs the update under the configured CloudFormation service role', async () => {
    process.env.STACK_ROLE_ARN = 'arn:aws:iam::123456789012:role/cfn-ecs';
    await handler(event());
    expect(cfnMock).toHaveReceivedCommandWith(UpdateStackCommand, { RoleARN: 'arn:aws:iam::123456789012:role/cfn-ecs' });
  });

  it('uses a distinct request token for the rollback of the same stack', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', NEW)] });
    const result = await handler(event({ amiId: OLD, purpose: 'rollback' }));
    expect(result).toMatchObject({ previousAmiId: NEW, changed: true });
    expect(cfnMock).toHaveReceivedCommandWith(UpdateStackCommand, { ClientRequestToken: 'rollback-prod-ecs-weekly-1' });
  });

  it('sends nothing when the stack already runs the image', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', NEW)] });
    await expect(handler(event())).resolves.toMatchObject({ stackName: 'prod-ecs', previousAmiId: NEW, changed: false });
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
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

  it('fails with StackBusy while the stack is updating, sending no update', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_IN_PROGRESS')] });
    const error = await caught(handler(event()));
    expect(error.name).toBe('StackBusy');
    expect(cfnMock).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('fails with StackNotRollable when the image parameter is missing', async () => {
    const error = await caught(handler(event({ target: { stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ImageId' } })));
    expect(error.name).toBe('StackNotRollable');
    expect(error.message).toContain('has no parameter ImageId (its parameters: VpcId, ApplicationImageId, DesiredCount)');
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
