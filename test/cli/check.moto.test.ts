import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { BaseAmiCheckResult } from '../../functions/lib/aws/base-ami-job';
import { deployPipeline, type EmulatedDeployment } from '../../local/deployment';
import { useMotoInThisProcess, type Moto } from '../../local/moto';
import { workerMoto } from '../support/worker-moto';
import { REGION, executions, motoUser, recommendedBase, runCli } from './harness';

/**
 * `check` runs the scheduled base-AMI check's own code with the caller's credentials. Nothing is
 * promoted in this stage yet, so AWS's newest ECS-optimized AMI is a new base.
 */
let moto: Moto;
let env: Record<string, string>;
let deployment: EmulatedDeployment;
let base: { imageId: string; imageName?: string };

beforeAll(async () => {
  moto = await workerMoto(REGION);
  useMotoInThisProcess(moto);
  env = motoUser(moto);
  deployment = await deployPipeline({ stage: 'dev', region: REGION, waves: [] });
  base = await recommendedBase();
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

describe('ami-pipeline check', () => {
  it('starts a run named base-<ami>-a1-<time> for a new base, records the attempt, and says so', async () => {
    const result = await runCli(['check'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Newest ECS-optimized base: ${base.imageId} (${base.imageName})`);
    expect(result.stdout).toContain('Current base:              none (nothing promoted yet)');
    expect(result.stdout).toContain(`Started a run: new base AMI ${base.imageId} (current base none); started run base-${base.imageId}-a1-`);

    const started = await executions(deployment.config.stateMachineArn);
    expect(started).toHaveLength(1);
    expect(started[0]!.name).toMatch(new RegExp(`^base-${base.imageId}-a1-\\d{8}T\\d{4}$`));
    const described = await new SFNClient({ region: REGION }).send(new DescribeExecutionCommand({ executionArn: started[0]!.executionArn }));
    expect(JSON.parse(described.input!)).toEqual({
      trigger: 'base-ami',
      sourceAmi: base.imageId,
      reason: `new ECS-optimized base AMI ${base.imageId} (${base.imageName})`,
      // The caller, not "the schedule": the record says a person started this run by hand.
      requestedBy: expect.stringMatching(/^ami-pipeline check by \S+/),
    });
  });

  it('starts nothing while that run is in flight (moto keeps it RUNNING), and --json says why', async () => {
    const result = await runCli(['check', '--json'], env);
    expect(result.code).toBe(0);
    const found = JSON.parse(result.stdout) as BaseAmiCheckResult;
    expect(found).toMatchObject({
      outcome: 'run-in-flight',
      baseAmiId: base.imageId,
      executionArn: expect.stringContaining(`:base-${base.imageId}-a1-`),
    });
    expect(found.message).toContain('is in flight; a later check decides again');
    expect(await executions(deployment.config.stateMachineArn)).toHaveLength(1);
  });

  it('once that run ended without promoting the base, waits before retrying it (and says when)', async () => {
    const [first] = await executions(deployment.config.stateMachineArn);
    await new SFNClient({ region: REGION }).send(new StopExecutionCommand({ executionArn: first!.executionArn }));

    const result = await runCli(['check'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Retry later: 1 run\\(s\\) for base AMI ${base.imageId} did not promote it; the next one starts after \\d{4}-`));
    expect(await executions(deployment.config.stateMachineArn)).toHaveLength(1);
  });
});
