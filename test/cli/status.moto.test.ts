import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { writeLock } from '../../functions/lib/aws/run-ledger';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parameterNames, type BakedAmiRecord, type ClusterRecord, type PromotionRecord } from '../../functions/lib/contracts';
import { deployPipeline, type EmulatedDeployment } from '../../local/deployment';
import { SimulatedEcsAgent } from '../../local/ecs-agent';
import type { StatusReport } from '../../cli/status-report';
import type { Promotion } from '../../cli/history-report';
import type { ImagesReport } from '../../cli/images-report';
import { useMotoInThisProcess, type Moto } from '../../local/moto';
import { workerMoto } from '../support/worker-moto';
import { REGION, amazonImages, lines, motoUser, pipelineImage, recommendedBase, runCli } from './harness';

/**
 * `status`, `history` and a wrong `--stage`, run as a user runs them, against a stage whose
 * history, fleet and runs were put in moto the way the pipeline leaves them.
 */
let moto: Moto;
let env: Record<string, string>;
let deployment: EmulatedDeployment;
let oldBase: string | undefined;
let newestBase: { imageId: string; imageName?: string };
let oldAmi: string;
let newAmi: string;
let stagingAmi: string;
const WEEKLY_RUN = 'weekly-20261120-040000';

const WAVES = [
  { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster', imageParameter: 'ApplicationImageId' }] },
  { name: 'prod', clusters: [{ stackName: 'prod-ecs', clusterName: 'prod-cluster', imageParameter: 'ApplicationImageId' }] },
];

async function put(name: string, value: unknown): Promise<void> {
  await new SSMClient({ region: REGION }).send(
    new PutParameterCommand({ Name: name, Value: typeof value === 'string' ? value : JSON.stringify(value), Type: 'String', Overwrite: true }),
  );
}

async function launch(imageId: string, count: number): Promise<string[]> {
  const out = await new EC2Client({ region: REGION }).send(new RunInstancesCommand({ ImageId: imageId, MinCount: count, MaxCount: count }));
  return out.Instances!.map((i) => i.InstanceId!);
}

beforeAll(async () => {
  moto = await workerMoto(REGION);
  useMotoInThisProcess(moto);
  env = motoUser(moto);
  deployment = await deployPipeline({ stage: 'dev', region: REGION, waves: WAVES });
  await deployPipeline({ stage: 'staging', region: REGION, waves: [] });
  const names = parameterNames(deployment.parameterPrefix);
  newestBase = await recommendedBase();
  [oldBase] = await amazonImages(1);
  oldAmi = await pipelineImage(oldBase!, 'ecs-ami-pipeline-dev-20261101');
  newAmi = await pipelineImage(oldBase!, 'ecs-ami-pipeline-dev-20261115');
  stagingAmi = await pipelineImage(oldBase!, 'ecs-ami-pipeline-staging-20261116', 'staging');
  const machine = deployment.config.stateMachineArn.replace(':stateMachine:', ':execution:');

  // Two promotions, as promote-ami writes them: the value, then its record.
  const promotions: PromotionRecord[] = [
    { amiId: oldAmi, baseAmiId: oldBase, executionArn: `${machine}:weekly-20261101-040000`, promotedAt: '2026-11-01T05:00:00.000Z', reason: 'rollout', clusters: ['dev-ecs', 'prod-ecs'] },
    { amiId: newAmi, previousAmiId: oldAmi, baseAmiId: oldBase, executionArn: `${machine}:manual-20261115-101500-abc123`, promotedAt: '2026-11-15T11:00:00.000Z', reason: 'rollout', clusters: ['dev-ecs', 'prod-ecs'] },
  ];
  for (const p of promotions) {
    await put(names.currentAmi, p.amiId);
    await put(names.currentAmiRecord, p);
  }
  const baked: BakedAmiRecord = { amiId: newAmi, baseAmiId: oldBase!, buildId: 'manual-20261115-101500-abc123', executionArn: promotions[1]!.executionArn, recordedAt: '2026-11-15T10:40:00.000Z' };
  await put(names.latestAmi, newAmi);
  await put(names.latestAmiRecord, baked);
  await put(names.currentBaseAmi, oldBase);

  // dev-cluster: two instances on the new image, one old one draining. prod-cluster does not exist.
  await new ECSClient({ region: REGION }).send(new CreateClusterCommand({ clusterName: 'dev-cluster' }));
  const agent = new SimulatedEcsAgent(REGION);
  for (const id of await launch(newAmi, 2)) await agent.register('dev-cluster', id);
  const [old] = await launch(oldAmi, 1);
  await agent.drain('dev-cluster', await agent.register('dev-cluster', old!));
  await new CloudFormationClient({ region: REGION }).send(
    new CreateStackCommand({
      StackName: 'dev-ecs',
      TemplateBody: JSON.stringify({
        Parameters: { ApplicationImageId: { Type: 'String' } },
        Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
      }),
      Parameters: [{ ParameterKey: 'ApplicationImageId', ParameterValue: newAmi }],
    }),
  );
  // dev confirmed the new image (its record); prod never confirmed anything.
  const devRecord: ClusterRecord = {
    stackName: 'dev-ecs',
    clusterName: 'dev-cluster',
    amiId: newAmi,
    purpose: 'rollout',
    runId: 'manual-20261115-101500-abc123',
    executionArn: promotions[1]!.executionArn,
    confirmedAt: '2026-11-15T10:55:00.000Z',
  };
  await put(names.clusterRecord('dev-ecs'), devRecord);
  // moto never runs an execution: this one stays RUNNING, like a weekly run in the middle of its bake,
  // and it holds the fleet lock as such a run does.
  const weekly = await new SFNClient({ region: REGION }).send(
    new StartExecutionCommand({
      stateMachineArn: deployment.config.stateMachineArn,
      name: WEEKLY_RUN,
      input: JSON.stringify({ trigger: 'weekly', requestedBy: 'schedule' }),
    }),
  );
  await writeLock(new DynamoDBClient({ region: REGION }), deployment.config.runLedgerTable, {
    ownerExecutionArn: weekly.executionArn!,
    acquiredAt: '2026-11-20T04:00:05.000Z',
    trigger: 'weekly',
  });
}, 90_000);

afterAll(async () => {
  await moto?.stop();
});

describe('ami-pipeline images', () => {
  it('--json lists the stage’s images only, with what keeps each one', async () => {
    const result = await runCli(['images', '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as ImagesReport;
    expect(report).toMatchObject({ stage: 'dev', region: REGION, policy: { mode: 'delete', keepPromoted: 3, graceDays: 7 } });
    expect(report.images.map((i) => i.imageId).sort()).toEqual([oldAmi, newAmi].sort());
    const byId = new Map(report.images.map((i) => [i.imageId, i]));
    expect(byId.get(newAmi)).toMatchObject({ current: true, latest: true, wouldDelete: null, baseAmiId: oldBase });
    expect(byId.get(newAmi)!.keptBecause.join('\n')).toMatch(/cluster stack dev-ecs confirmed it last/);
    expect(byId.get(newAmi)!.keptBecause.join('\n')).toMatch(/stack dev-ecs \(ApplicationImageId\)/);
    expect(byId.get(oldAmi)).toMatchObject({ current: false, latest: false, wouldDelete: null });
    // The old image: promoted before the current one, still run by a draining instance.
    expect(byId.get(oldAmi)!.keptBecause).toEqual(
      expect.arrayContaining([expect.stringMatching(/^the image .* replaced/), expect.stringMatching(/^1 instance \(i-/), expect.stringMatching(/promoted 2 promotions ago/)]),
    );
    expect(report.notes).toEqual(['configured stack prod-ecs does not exist; it uses no image']);
  });

  it('prints one line per image with its state, newest first', async () => {
    const result = await runCli(['images'], env);
    expect(result.code).toBe(0);
    const out = lines(result.stdout);
    expect(out[0]).toMatch(/^Images of stage dev in us-east-1 \(retention deletes: keeps 3 promoted per architecture/);
    expect(out.find((l) => l.startsWith(`  ${newAmi}`))).toMatch(/current, latest, kept: /);
    expect(out.find((l) => l.startsWith(`  ${oldAmi}`))).toMatch(/kept: the image .* replaced/);
    expect(out.some((l) => l.includes(stagingAmi))).toBe(false);
  });
});

describe('ami-pipeline status', () => {
  it('--json reports images with dates, the newest base, the fleet by AMI and state, and the last runs', async () => {
    const result = await runCli(['status', '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;

    expect(report).toMatchObject({ stage: 'dev', region: REGION, parameterPrefix: '/ecs-ami-pipeline/dev', stateMachineArn: deployment.config.stateMachineArn });
    expect(report.current).toMatchObject({
      amiId: newAmi,
      name: 'ecs-ami-pipeline-dev-20261115',
      promotedAt: '2026-11-15T11:00:00.000Z',
      executionArn: expect.stringContaining('manual-20261115-101500-abc123'),
      baseAmiId: oldBase,
      reason: 'rollout',
    });
    expect(Date.parse(report.current!.createdAt!)).not.toBeNaN();
    expect(report.latest).toMatchObject({ amiId: newAmi, recordedAt: '2026-11-15T10:40:00.000Z', promoted: true });
    expect(report.base).toMatchObject({ amiId: oldBase });
    expect(Date.parse(report.base!.createdAt!)).not.toBeNaN();
    expect(report.newestBase).toMatchObject({ amiId: newestBase.imageId, name: newestBase.imageName });
    // A new base is out, but the weekly run is in flight: the next check starts the rebuild.
    expect(report.rebuild).toMatchObject({ due: true, runningExecutionArn: expect.stringContaining(WEEKLY_RUN) });
    expect(report.fleetLock).toMatchObject({ ownerExecutionArn: expect.stringContaining(WEEKLY_RUN), ownerStatus: 'RUNNING' });

    expect(report.clusters).toEqual([
      {
        wave: 'dev',
        stackName: 'dev-ecs',
        clusterName: 'dev-cluster',
        stack: { status: 'CREATE_COMPLETE', imageId: newAmi },
        clusterStatus: 'ACTIVE',
        confirmed: { amiId: newAmi, purpose: 'rollout', runId: 'manual-20261115-101500-abc123', confirmedAt: '2026-11-15T10:55:00.000Z' },
        onCurrent: true,
        instances: [
          { amiId: newAmi, image: 'current', status: 'ACTIVE', agentConnected: true, count: 2 },
          { amiId: oldAmi, image: 'other', status: 'DRAINING', agentConnected: true, count: 1 },
        ],
      },
      { wave: 'prod', stackName: 'prod-ecs', clusterName: 'prod-cluster', stack: null, clusterStatus: 'MISSING', confirmed: null, onCurrent: false, instances: [] },
    ]);
    expect(report.executions).toEqual([
      expect.objectContaining({ name: WEEKLY_RUN, status: 'RUNNING', result: 'RUNNING', trigger: 'weekly', requestedBy: 'schedule' }),
    ]);
  });

  it('prints the same as text, through --endpoint-url instead of AWS_ENDPOINT_URL', async () => {
    const { AWS_ENDPOINT_URL, ...withoutEndpoint } = env;
    const result = await runCli(['status', '--endpoint-url', AWS_ENDPOINT_URL!], withoutEndpoint);
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain('Stage dev in us-east-1');
    expect(out).toMatch(new RegExp(`current\\s+${newAmi}\\s+ecs-ami-pipeline-dev-20261115\\s+created \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`));
    expect(out).toContain('promoted 2026-11-15 11:00 UTC');
    expect(out).toMatch(/latest\s+same as current/);
    expect(out).toMatch(new RegExp(`newest base\\s+${newestBase.imageId}`));
    expect(out).toMatch(/rebuild\s+due: /);
    expect(out).toMatch(new RegExp(`2 ×\\s+${newAmi}\\s+\\(current\\)\\s+ACTIVE\\s+agent connected`));
    expect(out).toMatch(new RegExp(`1 ×\\s+${oldAmi}\\s+DRAINING\\s+agent connected`));
    expect(out).toMatch(/prod-ecs → prod-cluster .*stack not found.*cluster not found/);
    expect(out).toMatch(new RegExp(`confirmed ${newAmi} \\(rollout, run manual-20261115-101500-abc123\\)`));
    expect(out).toContain('no confirmed image yet');
    expect(out).toMatch(new RegExp(`fleet held by ${WEEKLY_RUN} since 2026-11-20 04:00 UTC`));
    expect(out).toMatch(new RegExp(`${WEEKLY_RUN}\\s+weekly\\s+running`));
    expect(out).not.toContain('\u001b['); // not a terminal: no colour
  });

  it('colours only when asked, and --no-color wins over FORCE_COLOR', async () => {
    const coloured = await runCli(['status'], { ...env, FORCE_COLOR: '1' });
    expect(coloured.stdout).toContain('\u001b[');
    const plain = await runCli(['status', '--no-color'], { ...env, FORCE_COLOR: '1' });
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('\u001b[');
  });
});

describe('ami-pipeline history', () => {
  it('--json lists the promotions newest first, from the record parameter history', async () => {
    const result = await runCli(['history', '--json'], env);
    expect(result.code).toBe(0);
    const promotions = JSON.parse(result.stdout) as Promotion[];
    expect(promotions).toEqual([
      expect.objectContaining({ version: 2, amiId: newAmi, previousAmiId: oldAmi, baseAmiId: oldBase, run: 'manual-20261115-101500-abc123', reason: 'rollout', promotedAt: '2026-11-15T11:00:00.000Z' }),
      expect.objectContaining({ version: 1, amiId: oldAmi, baseAmiId: oldBase, run: 'weekly-20261101-040000', clusters: ['dev-ecs', 'prod-ecs'] }),
    ]);
  });

  it('prints a table: when, which AMI, from which base, by which run', async () => {
    const result = await runCli(['history', '--limit', '1'], env);
    expect(result.code).toBe(0);
    const [header, ...rows] = lines(result.stdout);
    expect(header).toMatch(/PROMOTED\s+AMI\s+BASE\s+RUN\s+KIND\s+STARTED BY\s+WHY/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`2026-11-15 11:00 UTC\\s+${newAmi}\\s+${oldBase}\\s+manual-20261115-101500-abc123\\s+rollout\\s+-\\s+-\\s+-\\s+${oldAmi}\\s+dev-ecs, prod-ecs`));
  });

  it('says so when a stage has promoted nothing yet', async () => {
    const result = await runCli(['history', '--stage', 'staging'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No promotion yet: /ecs-ami-pipeline/staging/ami/current/record has no history.');
  });
});

describe('a wrong --stage', () => {
  it.each([['status'], ['history'], ['check'], ['run', '--no-wait'], ['rollback', '--yes']])(
    '%s names the stage, the parameter and the region, and lists the deployed stages',
    async (...args) => {
      const result = await runCli([...args, '--stage', 'prod'], env);
      expect(result.code).toBe(4);
      expect(result.stdout).toBe('');
      expect(lines(result.stderr)).toEqual([
        'ami-pipeline: stage "prod" not found: no parameter /ecs-ami-pipeline/prod/config in us-east-1. Stages deployed there: dev, staging. Pass --stage (or AMI_PIPELINE_STAGE), or --region if the stage is deployed elsewhere.',
      ]);
    },
  );

  it('reads the stage from AMI_PIPELINE_STAGE', async () => {
    const result = await runCli(['status', '--json'], { ...env, AMI_PIPELINE_STAGE: 'staging' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ stage: 'staging', clusters: [], current: null });
  });

  it('says when no stage is deployed in the region at all', async () => {
    const withMoto = await runCli(['status', '--region', 'eu-west-1'], env);
    expect(withMoto.code).toBe(4);
    expect(withMoto.stderr).toContain('no parameter /ecs-ami-pipeline/dev/config in eu-west-1. No stage is deployed there.');
  });
});
