/**
 * End to end, make demo SCENARIO=retention: three weekly runs promote A, B and C; a team's own stack
 * keeps running the first image; a bake is killed half-way; another stage's image sits in the same
 * account. Ten days later the retention pass (keeping 2 promoted) deregisters A and the killed bake's
 * image with their snapshots, terminates the killed bake's instance, keeps B, C and the pinned first
 * image, and never touches the other stage's image. A run in flight that names an image protects it.
 */
import {
  CreateImageCommand,
  CreateTagsCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotAttributeCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { StopExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { RetainImagesResult } from '../../functions/retain-images/handler';
import { AMI_TAGS, LAMBDA_ENV, MANAGED_BY_VALUE } from '../../functions/lib/contracts';
import { stopRecording, type RecordedCall } from '../../local/iam/recorder';
import type { Moto } from '../../local/moto';
import type { World } from '../../local/world';
import { ec2ResourceTags, evaluateAgainstPackagedRoles, startWorld, stopScenario } from './scenario';

const DAYS_LATER = 10;
const CONSUMER = '210987654321';

describe('image retention (retention)', () => {
  let env: { moto: Moto; world: World };
  let images: { a: string; b: string; c: string; first: string; killed: string; otherStage: string };
  let killedInstance: string;
  let killedLeftovers: string[];
  let snapshotsOf: Map<string, string[]>;
  let dryRun: RetainImagesResult;
  let protectedByRun: RetainImagesResult;
  let pass: RetainImagesResult;
  let again: RetainImagesResult;
  let tagsBefore: Map<string, Record<string, string>>;
  let calls: RecordedCall[];

  beforeAll(async () => {
    env = await startWorld('retention');
    const { world } = env;
    process.env[LAMBDA_ENV.retainPromotedImages] = '2';
    // This stage also shares its images with another account (param shareWith).
    process.env[LAMBDA_ENV.shareWith] = JSON.stringify({ accounts: [CONSUMER], organizationArns: [], organizationalUnitArns: [] });
    await world.deployPinnedStack('ecs-batch', world.firstImage);
    for (const week of [1, 2, 3]) {
      const outcome = await world.runExecution(await world.startExecution(`weekly-${week}`, { trigger: 'weekly' }));
      if (outcome.path.at(-1) !== 'Fleet is on the new image') throw new Error(`weekly run ${week} ended in ${outcome.path.at(-1)}`);
    }
    const [a, b, c] = world.bakedAmis as [string, string, string];
    const killed = await world.simulateKilledBake('weekly-4');
    killedInstance = killed.instanceId;
    killedLeftovers = [killed.securityGroupId, killed.keyName];

    // Another stage's image: same ManagedBy, other PipelineStage, old and unused.
    const ec2 = new EC2Client({ region: world.region });
    const instance = (await ec2.send(new RunInstancesCommand({ ImageId: world.baseAmiId, MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
    const otherStage = (await ec2.send(new CreateImageCommand({ InstanceId: instance, Name: 'ecs-ami-pipeline-prod-20261101000000' }))).ImageId!;
    await ec2.send(new CreateTagsCommand({ Resources: [otherStage], Tags: [{ Key: AMI_TAGS.managedBy, Value: MANAGED_BY_VALUE }, { Key: AMI_TAGS.stage, Value: 'prod' }] }));
    images = { a, b, c, first: world.firstImage, killed: killed.imageId, otherStage };
    snapshotsOf = new Map((await world.stageImages()).map((i) => [i.imageId, i.snapshots]));
    await world.opsMessages();

    dryRun = await world.runRetention({ dryRun: true, daysLater: DAYS_LATER });
    tagsBefore = await ec2ResourceTags(world.region);
    // A rollback to A started (not yet run): A is its target, so A must stay while it is in flight.
    const sfn = new SFNClient({ region: world.region });
    const rollback = await world.startExecution('manual-rollback-to-a', { trigger: 'manual', rollback: { toAmi: a } });
    protectedByRun = await world.runRetention({ daysLater: DAYS_LATER });
    await sfn.send(new StopExecutionCommand({ executionArn: rollback, cause: 'test: the rollback was cancelled' }));

    pass = await world.runRetention({ daysLater: DAYS_LATER });
    again = await world.runRetention({ daysLater: DAYS_LATER });
    calls = await stopRecording();
  }, 180_000);
  afterAll(() => {
    delete process.env[LAMBDA_ENV.shareWith];
    delete process.env[LAMBDA_ENV.retainPromotedImages];
    return stopScenario(env);
  });

  it('a dry run says what would go and why, and changes nothing', async () => {
    expect(dryRun.mode).toBe('dry-run');
    expect(dryRun.wouldDeregister.map((w) => w.imageId).sort()).toEqual([images.a, images.killed].sort());
    expect(dryRun.wouldDeregister.find((w) => w.imageId === images.killed)!.why).toMatch(/bake never finished/);
    expect(dryRun.deregistered).toEqual([]);
    expect(dryRun.notified).toBe(false);
  });

  it('keeps an image a run in flight names, and deletes it once that run is gone', () => {
    expect(protectedByRun.deregistered).toEqual([images.killed]);
    expect(protectedByRun.kept.find((k) => k.imageId === images.a)!.reasons.join('; ')).toMatch(/run manual-rollback-to-a, in flight, names it/);
    expect(pass.deregistered).toEqual([images.a]);
  });

  it('deregisters what nothing uses, with its snapshots, and terminates the killed bake’s instance', async () => {
    const ec2 = new EC2Client({ region: env.world.region });
    const left = (await env.world.stageImages()).map((i) => i.imageId).sort();
    expect(left).toEqual([images.first, images.b, images.c].sort());
    const gone = [...(snapshotsOf.get(images.a) ?? []), ...(snapshotsOf.get(images.killed) ?? [])];
    expect(gone.length).toBeGreaterThanOrEqual(2);
    expect(await env.world.existingSnapshots(gone)).toEqual([]);
    expect(protectedByRun.terminated).toEqual([killedInstance]);
    const state = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [killedInstance] }))).Reservations![0]!.Instances![0]!.State!.Name;
    expect(['shutting-down', 'terminated']).toContain(state);
  });

  it('deletes the killed bake’s security group and key pair once its instance is gone', () => {
    // The first pass terminates the instance and keeps its group (it may still be attached)...
    expect(protectedByRun.bakeResourcesDeleted).toEqual([]);
    // ... the next deletes both.
    expect([...pass.bakeResourcesDeleted].sort()).toEqual([...killedLeftovers].sort());
  });

  it('keeps the pinned first image, older than the last 2 promoted, because a stack’s instances run it', () => {
    const first = pass.kept.find((k) => k.imageId === images.first)!;
    expect(first.reasons.join('; ')).toMatch(/instance.*of Auto Scaling group ecs-batch/);
    expect(pass.kept.find((k) => k.imageId === images.b)!.reasons.join('; ')).toMatch(/promoted 2 promotions ago/);
    expect(pass.kept.find((k) => k.imageId === images.c)!.reasons.join('; ')).toMatch(/ami\/current/);
  });

  it('never touches another stage’s image', async () => {
    const ec2 = new EC2Client({ region: env.world.region });
    const other = (await ec2.send(new DescribeImagesCommand({ ImageIds: [images.otherStage] }))).Images ?? [];
    expect(other.map((i) => i.State)).toEqual(['available']);
    expect([...pass.kept, ...dryRun.kept].some((k) => k.imageId === images.otherStage)).toBe(false);
  });

  it('is idempotent: the next pass finds nothing more to delete and tells nobody', () => {
    expect(again.deregistered).toEqual([]);
    expect(again.terminated).toEqual([]);
    expect(again.notified).toBe(false);
  });

  it('tells ops once per pass that deleted something, with what went and why the rest stayed', async () => {
    const messages = await env.world.opsMessages();
    expect(messages.map((m) => m.attributes)).toEqual([
      { status: 'CLEANED_UP', stage: 'demo', step: 'retention' },
      { status: 'CLEANED_UP', stage: 'demo', step: 'retention' },
    ]);
    const [, last] = messages;
    expect(last!.subject).toContain('deregistered 1 image');
    expect(last!.message).toContain(`${images.a}`);
    expect(last!.message).toMatch(/snapshots deleted: snap-/);
    expect(last!.message).toContain('Kept:');
  });

  it('shared every baked image with the consumer account, snapshots included', async () => {
    const ec2 = new EC2Client({ region: env.world.region });
    const launch = await ec2.send(new DescribeImageAttributeCommand({ ImageId: images.c, Attribute: 'launchPermission' }));
    expect(launch.LaunchPermissions).toEqual([{ UserId: CONSUMER }]);
    const [snapshot] = snapshotsOf.get(images.c)!;
    const volume = await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshot!, Attribute: 'createVolumePermission' }));
    expect(volume.CreateVolumePermissions).toEqual([{ UserId: CONSUMER }]);
  });

  it('made only calls the packaged retention and record roles allow, the deletes and shares by the stage’s tags', async () => {
    // The pipeline's other functions are evaluated by the other scenarios; here, retention's and the sharing record's calls.
    const { report } = await evaluateAgainstPackagedRoles(calls.filter((c) => c.actor === 'retainImages' || c.actor === 'recordBakedAmi'), env.world.region, tagsBefore);
    expect(report.summary()).toBe('');
    const actions = new Set(report.decisions.filter((d) => d.actor === 'retainImages').map((d) => d.request.action));
    expect([...actions].filter((a) => /Deregister|Delete|Terminate/.test(a)).sort()).toEqual([
      'ec2:DeleteKeyPair',
      'ec2:DeleteSecurityGroup',
      'ec2:DeleteSnapshot',
      'ec2:DeregisterImage',
      'ec2:TerminateInstances',
    ]);
    const shares = new Set(report.decisions.filter((d) => d.actor === 'recordBakedAmi').map((d) => d.request.action));
    expect([...shares].filter((a) => a.startsWith('ec2:Modify')).sort()).toEqual(['ec2:ModifyImageAttribute', 'ec2:ModifySnapshotAttribute']);
  });
});
