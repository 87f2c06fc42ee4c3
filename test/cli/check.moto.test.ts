import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { BaseAmiCheckResult } from '../../functions/lib/base-ami-job';
import { deployPipeline, type EmulatedDeployment } from '../../local/deployment';
import { startMoto, useMotoInThisProcess, type Moto } from '../../local/moto';
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
  moto = await startMoto(REGION);
  useMotoInThisProcess(moto);
  env = motoUser(moto);
  deployment = await deployPipeline({ stage: 'dev', region: REGION, waves: [] });
  base = await recommendedBase();
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

describe('ami-pipeline check', () => {
  it('starts a run named base-ami-<ami> for a new base, and says so', async () => {
    const result = await runCli(['check'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Newest ECS-optimized base: ${base.imageId} (${base.imageName})`);
    expect(result.stdout).toContain('Current base:              none (nothing promoted yet)');
    expect(result.stdout).toContain(`Started a run: new base AMI ${base.imageId} (was none); started run base-ami-${base.imageId}`);

    const started = await executions(deployment.config.stateMachineArn);
    expect(started.map((e) => e.name)).toEqual([`base-ami-${base.imageId}`]);
    const described = await new SFNClient({ region: REGION }).send(new DescribeExecutionCommand({ executionArn: started[0]!.executionArn }));
    expect(JSON.parse(described.input!)).toEqual({
      trigger: 'base-ami',
      sourceAmi: base.imageId,
      reason: `new ECS-optimized base AMI ${base.imageId} (${base.imageName})`,
    });
  });

  it('starts nothing while that run is in flight (moto keeps it RUNNING), and --json says why', async () => {
    const result = await runCli(['check', '--json'], env);
    expect(result.code).toBe(0);
    const found = JSON.parse(result.stdout) as BaseAmiCheckResult;
    expect(found).toMatchObject({
      outcome: 'run-in-flight',
      baseAmiId: base.imageId,
      executionArn: expect.stringContaining(`:base-ami-${base.imageId}`),
    });
    expect(found.message).toContain('is in flight; the next check will start a run');
    expect(await executions(deployment.config.stateMachineArn)).toHaveLength(1);
  });

  it('does not start a second run for the same base once the first has ended', async () => {
    const [first] = await executions(deployment.config.stateMachineArn);
    await new SFNClient({ region: REGION }).send(new StopExecutionCommand({ executionArn: first!.executionArn }));

    const result = await runCli(['check'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Already started: a run for base AMI ${base.imageId} was already started (base-ami-${base.imageId}); not starting another`);
    expect(await executions(deployment.config.stateMachineArn)).toHaveLength(1);
  });
});
