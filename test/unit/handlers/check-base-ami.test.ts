import { ExecutionAlreadyExists, ListExecutionsCommand, SFNClient, SFNServiceException, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../functions/check-base-ami/handler';
import { caught, unsetEnv, useEnv } from './env';

const ssmMock = mockClient(SSMClient);
const sfnMock = mockClient(SFNClient);

const PREFIX = '/ecs-ami-pipeline/prod';
const CURRENT_BASE = `${PREFIX}/base-ami/current`;
const RECOMMENDED = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod';
const NEW_BASE = 'ami-0cccccccccccccccc';
const OLD_BASE = 'ami-0bbbbbbbbbbbbbbbb';
const NAME = 'al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64';

useEnv({ AWS_REGION: 'eu-west-1', STATE_MACHINE_ARN: MACHINE, PARAMETER_PREFIX: PREFIX, BASE_AMI_ARCHITECTURE: undefined });

function recommend(value: unknown, name = RECOMMENDED) {
  ssmMock.on(GetParameterCommand, { Name: name }).resolves({ Parameter: { Name: name, Value: value as string } });
}

beforeEach(() => {
  ssmMock.reset();
  sfnMock.reset();
  recommend(JSON.stringify({ image_id: NEW_BASE, image_name: NAME, ecs_agent_version: '1.99.0' }));
  ssmMock.on(GetParameterCommand, { Name: CURRENT_BASE }).resolves({ Parameter: { Value: OLD_BASE } });
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:base-ami-${NEW_BASE}`, startDate: new Date() });
});
afterAll(() => {
  ssmMock.restore();
  sfnMock.restore();
});

describe('check-base-ami handler', () => {
  it('does nothing when the current image is built on the recommended base', async () => {
    ssmMock.on(GetParameterCommand, { Name: CURRENT_BASE }).resolves({ Parameter: { Value: NEW_BASE } });
    await expect(handler(undefined)).resolves.toEqual({
      outcome: 'up-to-date',
      baseAmiId: NEW_BASE,
      baseAmiName: NAME,
      currentBaseAmiId: NEW_BASE,
      message: `no new base AMI: the current image is built on ${NEW_BASE}`,
    });
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('does not start a run while another is in flight', async () => {
    const running = `${MACHINE.replace(':stateMachine:', ':execution:')}:weekly-1`;
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: running, name: 'weekly-1', stateMachineArn: MACHINE, status: 'RUNNING', startDate: new Date() }],
    });
    await expect(handler(undefined)).resolves.toEqual({
      outcome: 'run-in-flight',
      baseAmiId: NEW_BASE,
      baseAmiName: NAME,
      currentBaseAmiId: OLD_BASE,
      executionArn: running,
      message: `new base AMI ${NEW_BASE} found, but run ${running} is in flight; the next check will start a run`,
    });
    expect(sfnMock).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: MACHINE, statusFilter: 'RUNNING' });
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('starts a run named base-ami-<ami> with trigger base-ami and the new base as sourceAmi', async () => {
    const result = await handler(undefined);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: MACHINE, name: `base-ami-${NEW_BASE}` });
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(input).toEqual({ trigger: 'base-ami', sourceAmi: NEW_BASE, reason: `new ECS-optimized base AMI ${NEW_BASE} (${NAME})` });
    expect(result).toEqual({
      outcome: 'started',
      baseAmiId: NEW_BASE,
      baseAmiName: NAME,
      currentBaseAmiId: OLD_BASE,
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:base-ami-${NEW_BASE}`,
      message: `new base AMI ${NEW_BASE} (was ${OLD_BASE}); started run base-ami-${NEW_BASE}`,
    });
  });

  it('starts the first run when no base is recorded yet', async () => {
    ssmMock.on(GetParameterCommand, { Name: CURRENT_BASE }).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    const result = await handler(undefined);
    expect(result.outcome).toBe('started');
    expect(result.currentBaseAmiId).toBeUndefined();
    expect(result.message).toBe(`new base AMI ${NEW_BASE} (was none); started run base-ami-${NEW_BASE}`);
  });

  it('reports already-started, without throwing, when a run for this base exists', async () => {
    sfnMock.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    await expect(handler(undefined)).resolves.toEqual({
      outcome: 'already-started',
      baseAmiId: NEW_BASE,
      baseAmiName: NAME,
      currentBaseAmiId: OLD_BASE,
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:base-ami-${NEW_BASE}`,
      message: `a run for base AMI ${NEW_BASE} was already started (base-ami-${NEW_BASE}); not starting another`,
    });
  });

  it('fails on other StartExecution errors', async () => {
    sfnMock.on(StartExecutionCommand).rejects(new SFNServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' }));
    const error = await caught(handler(undefined));
    expect(error.name).toBe('AccessDeniedException');
    sfnMock.on(StartExecutionCommand).rejects(new SFNServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    expect((await caught(handler(undefined))).name).toBe('TransientAwsError');
  });

  it('accepts the recommended parameter as an already-parsed object', async () => {
    recommend({ image_id: NEW_BASE, image_name: NAME });
    expect((await handler(undefined)).outcome).toBe('started');
  });

  it('reads the arm64 parameter when configured', async () => {
    process.env.BASE_AMI_ARCHITECTURE = 'arm64';
    const arm = '/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended';
    recommend(JSON.stringify({ image_id: 'ami-0ffffffffffffffff' }), arm);
    const result = await handler(undefined);
    expect(result.baseAmiId).toBe('ami-0ffffffffffffffff');
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: arm });
    expect(ssmMock).not.toHaveReceivedCommandWith(GetParameterCommand, { Name: RECOMMENDED });
  });

  it('fails naming the parameter when the recommended value is malformed, starting nothing', async () => {
    recommend(JSON.stringify({ image_name: NAME }));
    const error = await caught(handler(undefined));
    expect(error.message).toBe(`${RECOMMENDED} has an unexpected shape: image_id Required`);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('fails when the state machine ARN is not configured', async () => {
    unsetEnv('STATE_MACHINE_ARN');
    const error = await caught(handler(undefined));
    expect(error.message).toBe('environment variable STATE_MACHINE_ARN is not set; it comes from serverless.yml');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });
});
