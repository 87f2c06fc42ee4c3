import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../functions/check-base-ami/handler';
import { caught, freezeTime, unsetEnv, useEnv } from './env';

const ssmMock = mockClient(SSMClient);
const sfnMock = mockClient(SFNClient);
const ddbMock = mockClient(DynamoDBClient);

const PREFIX = '/ecs-ami-pipeline/prod';
const CURRENT_BASE = `${PREFIX}/base-ami/current`;
const ATTEMPTS = `${PREFIX}/base-ami/attempts`;
const RECOMMENDED = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';
const TABLE = 'ecs-ami-pipeline-prod-runs';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod';
const EXEC = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;
const NEW_BASE = 'ami-0cccccccccccccccc';
const OLD_BASE = 'ami-0bbbbbbbbbbbbbbbb';
const NAME = 'al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64';
const NOW = '2026-01-01T12:00:00.000Z';
const FIRST_RUN = `base-${NEW_BASE}-a1-20260101T1200`;

useEnv({
  AWS_REGION: 'eu-west-1',
  STATE_MACHINE_ARN: MACHINE,
  PARAMETER_PREFIX: PREFIX,
  RUN_LEDGER_TABLE: TABLE,
  BASE_AMI_ARCHITECTURE: undefined,
  BASE_AMI_MAX_ATTEMPTS: undefined,
});

const notFound = () => new ParameterNotFound({ message: 'not found', $metadata: {} });

function recommend(value: unknown, name = RECOMMENDED) {
  ssmMock.on(GetParameterCommand, { Name: name }).resolves({ Parameter: { Name: name, Value: value as string } });
}

function attempts(value: object) {
  ssmMock.on(GetParameterCommand, { Name: ATTEMPTS }).resolves({ Parameter: { Name: ATTEMPTS, Value: JSON.stringify(value) } });
}

function lockHeldBy(executionArn: string, status: 'RUNNING' | 'FAILED' | 'ABORTED' | 'PENDING_REDRIVE' | 'gone') {
  ddbMock.on(GetItemCommand).resolves({
    Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: executionArn }, acquiredAt: { S: '2026-01-01T11:00:00.000Z' } },
  });
  if (status === 'gone') {
    sfnMock.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution does not exist', $metadata: {} }));
  } else {
    sfnMock.on(DescribeExecutionCommand, { executionArn }).resolves({ executionArn, status, stateMachineArn: MACHINE, startDate: new Date() });
  }
}

/** The base-ami/attempts record the check wrote, parsed. */
function writtenAttempts() {
  const calls = ssmMock.commandCalls(PutParameterCommand).filter((c) => c.args[0].input.Name === ATTEMPTS);
  expect(calls).toHaveLength(1);
  return JSON.parse(calls[0]!.args[0].input.Value!);
}

beforeEach(() => {
  ssmMock.reset();
  sfnMock.reset();
  ddbMock.reset();
  freezeTime(NOW);
  recommend(JSON.stringify({ image_id: NEW_BASE, image_name: NAME, ecs_agent_version: '1.99.0' }));
  ssmMock.on(GetParameterCommand, { Name: CURRENT_BASE }).resolves({ Parameter: { Value: OLD_BASE } });
  ssmMock.on(GetParameterCommand, { Name: ATTEMPTS }).rejects(notFound());
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
  ddbMock.on(GetItemCommand).resolves({});
  // Runs the tests do not name have ended.
  sfnMock.on(DescribeExecutionCommand).resolves({ status: 'FAILED' } as never);
  sfnMock.on(StartExecutionCommand).callsFake(({ name }: { name: string }) => ({ executionArn: EXEC(name), startDate: new Date() }));
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  ssmMock.restore();
  sfnMock.restore();
  ddbMock.restore();
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
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('reads the fleet lock strongly consistent from the run ledger', async () => {
    await handler(undefined);
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: { pk: { S: 'fleet-lock' } }, ConsistentRead: true });
  });

  it.each(['RUNNING', 'PENDING_REDRIVE'] as const)('does not start a run while the holder of the fleet is %s', async (status) => {
    const holder = EXEC('weekly-1');
    lockHeldBy(holder, status);
    await expect(handler(undefined)).resolves.toEqual({
      outcome: 'run-in-flight',
      baseAmiId: NEW_BASE,
      baseAmiName: NAME,
      currentBaseAmiId: OLD_BASE,
      executionArn: holder,
      message: `new base AMI ${NEW_BASE} found, but run ${holder} is in flight; a later check decides again`,
    });
    expect(sfnMock).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: holder });
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it.each(['FAILED', 'ABORTED', 'gone'] as const)('starts a run when the holder of the fleet is %s (a stale lock)', async (status) => {
    lockHeldBy(EXEC('weekly-1'), status);
    const result = await handler(undefined);
    expect(result.outcome).toBe('started');
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('starts attempt 1 named base-<ami>-a1-<stamp>, then records the attempt', async () => {
    const result = await handler(undefined);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: MACHINE, name: FIRST_RUN });
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(input).toEqual({ trigger: 'base-ami', sourceAmi: NEW_BASE, reason: `new ECS-optimized base AMI ${NEW_BASE} (${NAME})`, requestedBy: 'base-AMI check (schedule)' });
    expect(writtenAttempts()).toEqual({ baseAmiId: NEW_BASE, attempts: 1, lastStartedAt: NOW, lastExecutionArn: EXEC(FIRST_RUN) });
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: ATTEMPTS, Type: 'String', DataType: 'text', Overwrite: true });
    expect(result).toEqual({
      outcome: 'started',
      baseAmiId: NEW_BASE,
      baseAmiName: NAME,
      currentBaseAmiId: OLD_BASE,
      executionArn: EXEC(FIRST_RUN),
      attempts: 1,
      message: `new base AMI ${NEW_BASE} (current base ${OLD_BASE}); started run ${FIRST_RUN}`,
    });
  });

  it('records the execution ARN it derives when StartExecution does not return one', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ startDate: new Date() } as never);
    await handler(undefined);
    expect(writtenAttempts().lastExecutionArn).toBe(EXEC(FIRST_RUN));
  });

  it('starts the first run when no base is recorded yet', async () => {
    ssmMock.on(GetParameterCommand, { Name: CURRENT_BASE }).rejects(notFound());
    const result = await handler(undefined);
    expect(result.outcome).toBe('started');
    expect(result.currentBaseAmiId).toBeUndefined();
    expect(result.message).toBe(`new base AMI ${NEW_BASE} (current base none); started run ${FIRST_RUN}`);
  });

  it('waits after a failed attempt for this base, starting nothing and writing nothing', async () => {
    attempts({ baseAmiId: NEW_BASE, attempts: 1, lastStartedAt: '2026-01-01T11:30:00.000Z', lastExecutionArn: EXEC('base-1') });
    await expect(handler(undefined)).resolves.toEqual({
      outcome: 'retry-later',
      baseAmiId: NEW_BASE,
      baseAmiName: NAME,
      currentBaseAmiId: OLD_BASE,
      executionArn: EXEC('base-1'),
      attempts: 1,
      message: `1 run(s) for base AMI ${NEW_BASE} did not promote it; the next one starts after 2026-01-01T12:30:00.000Z`,
    });
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('starts attempt 2 after the pause and counts it', async () => {
    attempts({ baseAmiId: NEW_BASE, attempts: 1, lastStartedAt: '2026-01-01T10:59:00.000Z', lastExecutionArn: EXEC('base-1') });
    const result = await handler(undefined);
    const name = `base-${NEW_BASE}-a2-20260101T1200`;
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, { name });
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(input.reason).toBe(`new ECS-optimized base AMI ${NEW_BASE} (${NAME}), attempt 2 of 3`);
    expect(writtenAttempts()).toEqual({ baseAmiId: NEW_BASE, attempts: 2, lastStartedAt: NOW, lastExecutionArn: EXEC(name) });
    expect(result).toMatchObject({ outcome: 'started', attempts: 2, message: `new base AMI ${NEW_BASE} (current base ${OLD_BASE}); started run ${name} (attempt 2 of 3)` });
  });

  it('waits while the last run it started for this base is still going, though it does not hold the fleet yet', async () => {
    attempts({ baseAmiId: NEW_BASE, attempts: 1, lastStartedAt: '2026-01-01T10:00:00.000Z', lastExecutionArn: EXEC('base-1') });
    sfnMock.on(DescribeExecutionCommand, { executionArn: EXEC('base-1') }).resolves({ executionArn: EXEC('base-1'), status: 'RUNNING' } as never);
    await expect(handler(undefined)).resolves.toMatchObject({
      outcome: 'run-in-flight',
      executionArn: EXEC('base-1'),
      message: `new base AMI ${NEW_BASE} found, but run ${EXEC('base-1')} is in flight; a later check decides again`,
    });
    expect(sfnMock).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: EXEC('base-1') });
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('asks about the last attempt only once when it is the holder of the fleet', async () => {
    attempts({ baseAmiId: NEW_BASE, attempts: 1, lastStartedAt: '2026-01-01T10:00:00.000Z', lastExecutionArn: EXEC('base-1') });
    lockHeldBy(EXEC('base-1'), 'FAILED');
    await expect(handler(undefined)).resolves.toMatchObject({ outcome: 'started', attempts: 2 });
    expect(sfnMock).toHaveReceivedCommandTimes(DescribeExecutionCommand, 1);
  });

  it('does not ask about a last attempt for another base', async () => {
    attempts({ baseAmiId: 'ami-0eeeeeeeeeeeeeeee', attempts: 1, lastStartedAt: '2026-01-01T10:00:00.000Z', lastExecutionArn: EXEC('base-x') });
    await handler(undefined);
    expect(sfnMock).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it('gives up at BASE_AMI_MAX_ATTEMPTS', async () => {
    process.env.BASE_AMI_MAX_ATTEMPTS = '2';
    attempts({ baseAmiId: NEW_BASE, attempts: 2, lastStartedAt: '2025-12-01T00:00:00.000Z', lastExecutionArn: EXEC('base-2') });
    const result = await handler(undefined);
    expect(result).toMatchObject({ outcome: 'gave-up', attempts: 2, executionArn: EXEC('base-2') });
    expect(result.message).toContain(`2 run(s) for base AMI ${NEW_BASE} did not promote it; the check starts no more for this base`);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('starts attempt 1 for a new base whatever was tried for another', async () => {
    attempts({ baseAmiId: 'ami-0eeeeeeeeeeeeeeee', attempts: 3, lastStartedAt: '2026-01-01T11:59:00.000Z', lastExecutionArn: EXEC('base-x') });
    const result = await handler(undefined);
    expect(result).toMatchObject({ outcome: 'started', attempts: 1 });
    expect(writtenAttempts()).toMatchObject({ baseAmiId: NEW_BASE, attempts: 1 });
  });

  it('refuses a BASE_AMI_MAX_ATTEMPTS that is not a positive number', async () => {
    process.env.BASE_AMI_MAX_ATTEMPTS = 'many';
    const error = await caught(handler(undefined));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('BASE_AMI_MAX_ATTEMPTS is "many"');
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('reports already-started, without throwing or counting, when that run name exists', async () => {
    sfnMock.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    await expect(handler(undefined)).resolves.toEqual({
      outcome: 'already-started',
      baseAmiId: NEW_BASE,
      baseAmiName: NAME,
      currentBaseAmiId: OLD_BASE,
      executionArn: EXEC(FIRST_RUN),
      message: `run ${FIRST_RUN} for base AMI ${NEW_BASE} was already started; not starting another`,
    });
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('fails on other StartExecution errors', async () => {
    sfnMock.on(StartExecutionCommand).rejects(new SFNServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' }));
    const error = await caught(handler(undefined));
    expect(error.name).toBe('AccessDeniedException');
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
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

  it('fails when the state machine ARN or the run ledger is not configured', async () => {
    unsetEnv('STATE_MACHINE_ARN');
    const error = await caught(handler(undefined));
    expect(error.message).toBe('environment variable STATE_MACHINE_ARN is not set; it comes from serverless.yml');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
    process.env.STATE_MACHINE_ARN = MACHINE;
    unsetEnv('RUN_LEDGER_TABLE');
    expect((await caught(handler(undefined))).message).toBe('environment variable RUN_LEDGER_TABLE is not set; it comes from serverless.yml');
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });
});
