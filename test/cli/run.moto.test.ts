import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parameterNames } from '../../functions/lib/contracts';
import { deployPipeline, type EmulatedDeployment } from '../../local/deployment';
import { useMotoInThisProcess, type Moto } from '../../local/moto';
import { workerMoto } from '../support/worker-moto';
import { REGION, amazonImages, executions, lines, motoUser, pipelineImage, runCli } from './harness';

/**
 * `run` and `rollback` validate with the state machine's own code, start an execution with that
 * input, and follow it. moto never runs the execution; its GetExecutionHistory returns a fixed
 * history that ends in success ("A State"), which is enough to follow a run to its end.
 */
let moto: Moto;
let env: Record<string, string>;
let deployment: EmulatedDeployment;
let base: string | undefined;
const MOTO_CALLER = 'arn:aws:sts::123456789012:user/moto';
const NAME = /^manual-\d{8}-\d{6}-[0-9a-f]{6}$/;

const WAVES = [
  { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster', imageParameter: 'ApplicationImageId' }] },
  {
    name: 'prod',
    clusters: [
      { stackName: 'prod-a-ecs', clusterName: 'prod-a', imageParameter: 'ApplicationImageId' },
      { stackName: 'prod-b-ecs', clusterName: 'prod-b', imageParameter: 'ApplicationImageId' },
    ],
  },
];

async function inputOf(executionArn: string): Promise<unknown> {
  const out = await new SFNClient({ region: REGION }).send(new DescribeExecutionCommand({ executionArn }));
  return JSON.parse(out.input!);
}

async function started(): Promise<number> {
  return (await executions(deployment.config.stateMachineArn)).length;
}

beforeAll(async () => {
  moto = await workerMoto(REGION);
  useMotoInThisProcess(moto);
  env = motoUser(moto);
  deployment = await deployPipeline({ stage: 'dev', region: REGION, waves: WAVES });
  [base] = await amazonImages(1);
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

describe('ami-pipeline run --no-wait', () => {
  it('starts a manual run with the validated input and prints only its ARN', async () => {
    const result = await runCli(['run', '--no-wait', '--source-ami', base!, '--clusters', 'prod-b-ecs,dev-cluster', '--reason', 'CVE-2026-1234'], env);
    expect(result.code).toBe(0);
    const [arn, ...rest] = lines(result.stdout);
    expect(rest).toEqual([]);
    expect(arn).toMatch(new RegExp(`^${deployment.config.stateMachineArn.replace(':stateMachine:', ':execution:')}:manual-`));
    expect(arn!.split(':').pop()).toMatch(NAME);
    expect(result.stderr).toContain(`bake from ${base}, then roll dev (dev-ecs) → prod (prod-b-ecs)`);
    expect(await inputOf(arn!)).toEqual({
      trigger: 'manual',
      sourceAmi: base,
      clusters: ['prod-b-ecs', 'dev-cluster'],
      reason: 'CVE-2026-1234',
      requestedBy: MOTO_CALLER,
    });
  });

  it('sends dryRun only when asked', async () => {
    const result = await runCli(['run', '--no-wait', '--dry-run'], env);
    expect(result.code).toBe(0);
    expect(await inputOf(lines(result.stdout)[0]!)).toEqual({ trigger: 'manual', dryRun: true, requestedBy: MOTO_CALLER });
  });
});

describe('ami-pipeline run, invalid input', () => {
  it.each([
    [['--source-ami', 'ami-123'], 'ami-pipeline: invalid request: sourceAmi (--source-ami): must be an AMI id like ami-0123456789abcdef0'],
    [
      ['--clusters', 'dev-ecs,unknown'],
      'ami-pipeline: invalid request: clusters[1] (--clusters): "unknown" is not a configured cluster or stack (configured stacks: dev-ecs, prod-a-ecs, prod-b-ecs); add it to the waves param and redeploy',
    ],
    [['--clusters', 'dev-ecs,dev-cluster'], 'ami-pipeline: invalid request: clusters[1] (--clusters): stack "dev-ecs" is named more than once'],
    [['--source-ami', 'ami-0123456789abcdef0'], 'ami-pipeline: invalid request: sourceAmi (--source-ami): ami-0123456789abcdef0 does not exist in this region'],
  ])('%j: exits 4 with the field and the fix, and starts nothing', async (args, message) => {
    const before = await started();
    const result = await runCli(['run', ...args], env);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual([message]);
    expect(await started()).toBe(before);
  });
});

describe('ami-pipeline run (following)', () => {
  it('prints each state entered with its time, and exits with how the run ended', async () => {
    const result = await runCli(['run', '--clusters', 'dev-ecs'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = lines(result.stdout);
    expect(out[0]).toMatch(/^Started manual-\d{8}-\d{6}-[0-9a-f]{6} on stage dev: bake from the newest ECS-optimized base, then roll dev \(dev-ecs\)$/);
    expect(out[1]).toMatch(/^ {2}https:\/\/us-east-1\.console\.aws\.amazon\.com\/states\/home\?region=us-east-1#\/v2\/executions\/details\/arn:aws:states:/);
    // moto's fixed history: ExecutionStarted at 00:00:00, "A State" at 00:00:10, success at 00:00:20.
    expect(out.slice(2)).toEqual(['     10s  A State', 'Ended SUCCEEDED after 20s: A State']);
  });
});

describe('ami-pipeline rollback', () => {
  let names: ReturnType<typeof parameterNames>;
  beforeAll(() => {
    names = parameterNames(deployment.parameterPrefix);
  });

  it('refuses when the current AMI has no earlier value, naming rollback.toAmi', async () => {
    const before = await started();
    const result = await runCli(['rollback', '--yes'], env);
    expect(result.code).toBe(4);
    expect(lines(result.stderr)).toEqual([
      'ami-pipeline: invalid request: rollback.toAmi (--to): no earlier promoted image to roll back to; name one with {"rollback": {"toAmi": "ami-..."}}',
    ]);
    expect(await started()).toBe(before);
  });

  it('asks for confirmation: without a terminal and without --yes it refuses and starts nothing', async () => {
    const image = await pipelineImage(base!, 'ecs-ami-pipeline-dev-older');
    const before = await started();
    const result = await runCli(['rollback', '--to', image], env);
    expect(result.code).toBe(4);
    expect(lines(result.stderr)).toEqual([
      `ami-pipeline: rolling back stage dev to ${image} needs confirmation, and stdin is not a terminal: add --yes to confirm; nothing was started`,
    ]);
    expect(await started()).toBe(before);
  });

  it('refuses an image the pipeline did not bake', async () => {
    const result = await runCli(['rollback', '--to', base!, '--yes'], env);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`rollback.toAmi (--to): ${base} was not baked by this pipeline`);
  });

  it('rolls back to the previous current AMI by default, sending the image it resolved', async () => {
    const previous = await pipelineImage(base!, 'ecs-ami-pipeline-dev-a');
    const current = await pipelineImage(base!, 'ecs-ami-pipeline-dev-b');
    const ssm = new SSMClient({ region: REGION });
    for (const value of [previous, current]) {
      await ssm.send(new PutParameterCommand({ Name: names.currentAmi, Value: value, Type: 'String', Overwrite: true }));
    }
    // prod-a's wave comes after dev's: rolling it alone must be asked for.
    const refused = await runCli(['rollback', '--yes', '--no-wait', '--clusters', 'prod-a'], env);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('prod-a-ecs would roll before dev-ecs (wave dev), whose wave comes first');
    const result = await runCli(['rollback', '--yes', '--no-wait', '--clusters', 'prod-a', '--skip-earlier-waves', '--reason', 'agent crash'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`roll back to ${previous} on prod (prod-a-ecs)`);
    const arn = lines(result.stdout)[0]!;
    expect(arn.split(':').pop()).toMatch(NAME);
    expect(await inputOf(arn)).toEqual({
      trigger: 'manual',
      rollback: { toAmi: previous },
      clusters: ['prod-a'],
      skipEarlierWaves: true,
      reason: 'agent crash',
      requestedBy: MOTO_CALLER,
    });
  });
});
