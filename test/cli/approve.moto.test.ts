import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { readApprovalWaiting, recordApprovalWaiting } from '../../functions/lib/aws/approvals';
import type { ApprovalWaiting } from '../../functions/lib/contracts/gates';
import { deployPipeline, type EmulatedDeployment } from '../../local/deployment';
import { useMotoInThisProcess, type Moto } from '../../local/moto';
import { workerMoto } from '../support/worker-moto';
import { REGION, motoUser, runCli } from './harness';

/**
 * `approve` and `reject` against moto: the run is a RUNNING execution there and its wave's wait is
 * the ledger item the request-approval function writes. moto accepts SendTaskSuccess (and ignores it),
 * so what is checked is what the CLI decides and records; the state machine's side of the answer is
 * in test/statemachine/gates.test.ts.
 */
let moto: Moto;
let env: Record<string, string>;
let deployment: EmulatedDeployment;
const ddb = () => new DynamoDBClient({ region: REGION });
const sfn = () => new SFNClient({ region: REGION });

beforeAll(async () => {
  moto = await workerMoto(REGION);
  useMotoInThisProcess(moto);
  env = motoUser(moto);
  deployment = await deployPipeline({
    stage: 'dev',
    region: REGION,
    waves: [
      { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev', imageParameter: 'ApplicationImageId' }] },
      { name: 'prod', clusters: [{ stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ApplicationImageId' }], requireApproval: true },
    ],
  });
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

async function startRun(name: string): Promise<string> {
  const out = await sfn().send(new StartExecutionCommand({ stateMachineArn: deployment.config.stateMachineArn, name, input: '{"trigger":"manual"}' }));
  return out.executionArn!;
}

async function waitingRun(name: string, extra: Partial<ApprovalWaiting> = {}): Promise<string> {
  const executionArn = await startRun(name);
  await recordApprovalWaiting(ddb(), deployment.config.runLedgerTable, {
    executionArn,
    wave: 'prod',
    amiId: 'ami-0123456789abcdef0',
    clusters: ['prod-ecs'],
    token: `token-of-${name}`,
    requestedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    ...extra,
  });
  return executionArn;
}

const waitOf = (executionArn: string) => readApprovalWaiting(ddb(), deployment.config.runLedgerTable, executionArn);

describe('ami-pipeline approve and reject', () => {
  it('approves the waiting wave as the caller, records the answer once, and refuses a second answer', async () => {
    const arn = await waitingRun('run-approve');
    const approved = await runCli(['approve', 'run-approve', '--yes', '--reason', 'dev soaked clean'], env);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('Approved wave prod of run run-approve (ami-0123456789abcdef0 to prod-ecs) as arn:aws:');
    expect((await waitOf(arn))?.answer).toMatchObject({ decision: 'APPROVED', reason: 'dev soaked clean', wave: 'prod', by: expect.stringMatching(/^arn:aws:/) });

    const again = await runCli(['reject', 'run-approve', '--yes', '--reason', 'too late'], env);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('wave prod of run run-approve was already answered: APPROVED by arn:aws:');
    expect((await waitOf(arn))?.answer?.decision).toBe('APPROVED');
  });

  it('rejects with a reason, taking the execution ARN as well as the name', async () => {
    const arn = await waitingRun('run-reject');
    const rejected = await runCli(['reject', arn, '--yes', '--reason', 'freeze\nuntil Monday'], env);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain('Rejected wave prod of run run-reject');
    // Control characters never reach the records.
    expect((await waitOf(arn))?.answer).toMatchObject({ decision: 'REJECTED', reason: 'freeze until Monday' });
  });

  it.each([
    ['a rejection without --reason', ['reject', 'run-bad-input', '--yes'], /required option '--reason <text>' not specified/],
    ['a rejection with a blank reason', ['reject', 'run-bad-input', '--yes', '--reason', '   '], /--reason: a rejection needs a reason/],
    ['no confirmation when stdin is not a terminal', ['approve', 'run-bad-input'], /needs confirmation, and stdin is not a terminal: add --yes/],
  ])('changes nothing on %s (exit 4)', async (_, args, message) => {
    const arn = (await waitOf(`${deployment.config.stateMachineArn.replace(':stateMachine:', ':execution:')}:run-bad-input`))
      ? `${deployment.config.stateMachineArn.replace(':stateMachine:', ':execution:')}:run-bad-input`
      : await waitingRun('run-bad-input');
    const result = await runCli(args, env);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(message);
    expect((await waitOf(arn))?.answer).toBeUndefined();
  });

  it.each([
    ['an unknown run', ['approve', 'no-such-run', '--yes'], /no run no-such-run in stage dev; ami-pipeline status --stage dev --runs 10/],
    ['a name that is not a run name', ['approve', 'a;rm -rf', '--yes'], /"a;rm -rf" is not a run name/],
    ['a run of another state machine', ['approve', 'arn:aws:states:us-east-1:123456789012:execution:other-machine:x', '--yes'], /is not a run of stage dev/],
  ])('refuses %s with exit 4', async (_, args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(message);
  });

  it('says a running run that asked for nothing is not waiting', async () => {
    await startRun('run-not-waiting');
    const result = await runCli(['approve', 'run-not-waiting', '--yes'], env);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('run run-not-waiting is not waiting for approval (no wave of it has asked)');
  });

  it('says an approval past its time-out timed out, and a stopped run ended', async () => {
    const expired = await waitingRun('run-expired', { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const late = await runCli(['approve', 'run-expired', '--yes'], env);
    expect(late.code).toBe(4);
    expect(late.stderr).toContain('the approval of wave prod of run run-expired timed out at');
    expect((await waitOf(expired))?.answer).toBeUndefined();

    const stopped = await waitingRun('run-stopped');
    await sfn().send(new StopExecutionCommand({ executionArn: stopped }));
    const ended = await runCli(['reject', 'run-stopped', '--yes', '--reason', 'x'], env);
    expect(ended.code).toBe(4);
    expect(ended.stderr).toContain('run run-stopped is not waiting for approval: it ended ABORTED');
  });
});

describe('ami-pipeline status', () => {
  it('shows a wave that waits for approval, with the commands that answer it', async () => {
    await waitingRun('run-status');
    const result = await runCli(['status', '--runs', '20'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Waiting for approval');
    expect(result.stdout).toContain('wave prod of run run-status: ami-0123456789abcdef0 to prod-ecs');
    expect(result.stdout).toContain('ami-pipeline approve run-status --stage dev');
  });
});
