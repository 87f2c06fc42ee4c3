import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SFNServiceException } from '@aws-sdk/client-sfn';
import { ExecutionRecords } from '../../local/execution-records';
import { useMotoInThisProcess, type Moto } from '../../local/moto';
import { workerMoto } from '../support/worker-moto';
import { startStepFunctionsProxy, type StepFunctionsProxy } from '../../local/sfn-proxy';
import { TaskTokenRegistry } from '../../local/task-tokens';

/**
 * The Step Functions proxy in front of moto, with a stand-in for the in-process runner: each run
 * enters the states a test tells it to and ends when the test says, so what the proxy answers can
 * be checked at every point of a run.
 */
const REGION = 'us-east-1';
const DEFINITION = JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } });

let moto: Moto;
let proxy: StepFunctionsProxy;
let sfn: SFNClient;
let machineArn: string;
let otherMachineArn: string;
const records = new ExecutionRecords();
const tokens = new TaskTokenRegistry();
const runs = new Map<string, (end: Parameters<ExecutionRecords['end']>[1]) => void>();

beforeAll(async () => {
  moto = await workerMoto(REGION);
  useMotoInThisProcess(moto);
  const direct = new SFNClient({ region: REGION });
  const create = (name: string) =>
    direct.send(new CreateStateMachineCommand({ name, definition: DEFINITION, roleArn: 'arn:aws:iam::123456789012:role/sfn' }));
  machineArn = (await create('pipeline')).stateMachineArn!;
  otherMachineArn = (await create('not-the-pipeline')).stateMachineArn!;
  proxy = await startStepFunctionsProxy({
    motoEndpoint: moto.endpoint,
    records,
    tokens,
    runs: (arn) => arn === machineArn,
    run: (executionArn) =>
      new Promise<void>((resolve) => {
        records.entered(executionArn, { name: 'Receive the request', stateType: 'Pass', input: { n: 1 } });
        runs.set(executionArn, (end) => {
          records.end(executionArn, end);
          resolve();
        });
      }),
  });
  sfn = new SFNClient({ region: REGION, endpoint: proxy.endpoint });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

async function start(name: string, stateMachineArn = machineArn, input: unknown = { name }): Promise<string> {
  return (await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }))).executionArn!;
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as SFNServiceException;
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('the Step Functions proxy', () => {
  it('runs what moto accepted and answers with the run\'s real status, output and history', async () => {
    const arn = await start('ok');
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status).toBe('RUNNING');
    runs.get(arn)!({ status: 'SUCCEEDED', output: { outcome: { status: 'SUCCEEDED' } } });

    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(described).toMatchObject({ status: 'SUCCEEDED', name: 'ok', input: '{"name":"ok"}', output: '{"outcome":{"status":"SUCCEEDED"}}' });
    expect(described.stopDate).toBeInstanceOf(Date);
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn }));
    expect(history.events!.map((e) => [e.id, e.type, e.stateEnteredEventDetails?.name])).toEqual([
      [1, 'ExecutionStarted', undefined],
      [2, 'PassStateEntered', 'Receive the request'],
      [3, 'ExecutionSucceeded', undefined],
    ]);
    expect(history.events![1]!.stateEnteredEventDetails!.input).toBe('{"n":1}');
    expect(history.events![2]!.executionSucceededEventDetails!.output).toBe('{"outcome":{"status":"SUCCEEDED"}}');
    expect(history.events![0]!.timestamp).toBeInstanceOf(Date);
  });

  it('pages the history newest first the way the CLI reads it', async () => {
    const arn = await start('paged');
    runs.get(arn)!({ status: 'FAILED', error: { name: 'RolledBack', message: 'ecs-dev did not confirm' } });
    const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true, maxResults: 2 }));
    expect(first.events!.map((e) => e.id)).toEqual([3, 2]);
    expect(first.events![0]!.executionFailedEventDetails).toEqual({ error: 'RolledBack', cause: 'ecs-dev did not confirm' });
    const second = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true, maxResults: 2, nextToken: first.nextToken }));
    expect(second.events!.map((e) => e.id)).toEqual([1]);
    expect(second.nextToken).toBeUndefined();
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).toMatchObject({ status: 'FAILED', error: 'RolledBack', cause: 'ecs-dev did not confirm' });
  });

  it('stops a running execution at once (ABORTED), as StopExecution does', async () => {
    const arn = await start('stopped');
    const stopped = await sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'Stopped', cause: 'by hand' }));
    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect(records.get(arn)!.stopRequested).toBe(true);
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).toMatchObject({ status: 'ABORTED', error: 'Stopped', cause: 'by hand' });
    // The runner's own end, when it gets there, does not undo the stop.
    runs.get(arn)!({ status: 'SUCCEEDED', output: {} });
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status).toBe('ABORTED');
    const types = (await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn }))).events!.map((e) => e.type);
    expect(types.at(-1)).toBe('ExecutionAborted');
    expect(types.filter((t) => t === 'ExecutionSucceeded')).toEqual([]);
  });

  it('lists executions with their real status, filters on it, newest first', async () => {
    const running = await start('still-running');
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }));
    const byName = Object.fromEntries(listed.executions!.map((e) => [e.name, e.status]));
    expect(byName).toMatchObject({ ok: 'SUCCEEDED', paged: 'FAILED', stopped: 'ABORTED', 'still-running': 'RUNNING' });
    expect(listed.executions![0]!.name).toBe('still-running');
    const succeeded = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, statusFilter: 'SUCCEEDED' }));
    expect(succeeded.executions!.map((e) => e.name)).toEqual(['ok']);
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: 3 }));
    expect(page.executions).toHaveLength(3);
    const rest = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: 3, nextToken: page.nextToken }));
    expect(rest.executions!.map((e) => e.name)).toEqual(['ok']);
    expect(rest.nextToken).toBeUndefined();
    runs.get(running)!({ status: 'SUCCEEDED', output: {} });
  });

  it('starts one run for a repeated StartExecution (same name, same input), as Step Functions does', async () => {
    const arn = await start('twice');
    expect(await start('twice')).toBe(arn);
    expect(records.get(arn)!.events.filter((e) => e.type === 'PassStateEntered')).toHaveLength(1);
    runs.get(arn)!({ status: 'SUCCEEDED', output: {} });
  });

  it('leaves moto\'s answers alone for a state machine the harness does not run, and passes moto\'s errors on', async () => {
    const arn = await start('moto-only', otherMachineArn);
    expect(records.get(arn)).toBeUndefined();
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status).toBe('RUNNING');
    expect(await errorOf(start('ok', machineArn, { other: 'input' }))).toMatchObject({ name: 'ExecutionAlreadyExists', status: 400 });
    expect(await errorOf(sfn.send(new DescribeExecutionCommand({ executionArn: `${arn}-nope` })))).toMatchObject({ name: 'ExecutionDoesNotExist' });
  });

  it('delivers SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat to the task waiting on the token', async () => {
    const approve = tokens.newToken();
    const approved = tokens.waitForTaskAnswer(approve);
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: approve }));
    await sfn.send(new SendTaskSuccessCommand({ taskToken: approve, output: '{"approvedBy":"ops"}' }));
    await expect(approved).resolves.toEqual({ output: '{"approvedBy":"ops"}' });

    const reject = tokens.newToken();
    const rejected = tokens.waitForTaskAnswer(reject);
    await sfn.send(new SendTaskFailureCommand({ taskToken: reject, error: 'Rejected', cause: 'not this week' }));
    await expect(rejected).resolves.toEqual({ error: 'Rejected', cause: 'not this week' });
  });

  it('answers a token nobody waits on with Step Functions\' errors', async () => {
    const answered = tokens.newToken();
    void tokens.waitForTaskAnswer(answered);
    await sfn.send(new SendTaskSuccessCommand({ taskToken: answered, output: '{}' }));
    expect(await errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: answered, output: '{}' })))).toMatchObject({ name: 'TaskDoesNotExist', status: 400 });
    expect(await errorOf(sfn.send(new SendTaskFailureCommand({ taskToken: 'never-issued' })))).toMatchObject({ name: 'InvalidToken', status: 400 });
    expect(await errorOf(sfn.send(new SendTaskHeartbeatCommand({ taskToken: 'never-issued' })))).toMatchObject({ name: 'InvalidToken' });
    const waiting = tokens.newToken();
    void tokens.waitForTaskAnswer(waiting);
    expect(await errorOf(sfn.send(new SendTaskSuccessCommand({ taskToken: waiting, output: 'not json' })))).toMatchObject({ name: 'InvalidOutput' });
    expect(tokens.isWaiting(waiting)).toBe(true);
  });
});
