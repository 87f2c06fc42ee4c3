/**
 * End to end, the success path: the scheduled check finds a new base AMI, the real state machine
 * bakes, records, rolls dev then prod, confirms through the ECS API, promotes and tells ops.
 * Assertions are on the emulator's state: SSM, EC2 images and instances, ECS, the SNS inbox.
 */
import { MANAGED_BY_VALUE } from '../../functions/lib/contracts';
import { evaluateAgainstPackagedRoles, imageTags, runScenario, stopScenario, TAG_KEYS, type ScenarioRun } from './scenario';

let run: ScenarioRun;

beforeAll(async () => {
  run = await runScenario('success');
}, 120_000);
afterAll(() => stopScenario(run));

const runName = () => run.check.executionArn!.split(':').pop()!;

it('starts one run for the new base, named after it and its attempt', () => {
  expect(run.check.outcome).toBe('started');
  expect(runName()).toMatch(new RegExp(`^base-${run.world.baseAmiId}-a1-\\d{8}T\\d{4}$`));
  expect(run.outcome.status).toBe('SUCCEEDED');
  expect(run.outcome.path.at(-1)).toBe('Fleet is on the new image');
});

it('records and promotes the baked AMI, and the base it came from', async () => {
  const [baked] = run.world.bakedAmis;
  const byName = Object.fromEntries((await run.world.parameters()).map((p) => [p.name, p]));
  // The setup's dry run baked the first image the clusters were created on.
  expect(byName[run.world.names.latestAmi]).toEqual({ name: run.world.names.latestAmi, value: baked, history: [run.world.firstImage, baked] });
  expect(byName[run.world.names.currentAmi]?.history).toEqual([baked]);
  expect(byName[run.world.names.currentBaseAmi]?.value).toBe(run.world.baseAmiId);
});

it('records, per cluster, the image it confirmed and the run that confirmed it; the eu-west-1 cluster, its copy and what it is a copy of', async () => {
  const [baked] = run.world.bakedAmis;
  const [regional] = await run.world.regionalLatest();
  for (const stack of run.world.stacks) {
    const record = JSON.parse((await run.world.parameter(run.world.names.clusterRecord(stack.stackName)))!);
    const inEu = stack.stackName === 'ecs-prod-eu';
    const onArm = stack.stackName === 'ecs-prod-arm';
    expect(record).toMatchObject({ stackName: stack.stackName, amiId: inEu ? regional!.value : onArm ? run.world.bakedAmis[1] : baked, purpose: 'rollout', runId: runName() });
    if (inEu) expect(record).toMatchObject({ region: 'eu-west-1', copyOf: baked });
    if (onArm) expect(record).toMatchObject({ copyOf: baked });
  }
  expect(run.world.stacks.map((s) => s.stackName)).toContain('ecs-prod-eu');
});

it('copies the image to eu-west-1, tagged with where it came from, and records it there as ami/latest', async () => {
  const [baked] = run.world.bakedAmis;
  const [regional] = await run.world.regionalLatest();
  expect(regional).toMatchObject({ region: 'eu-west-1' });
  const { tags } = await imageTags('eu-west-1', regional!.value!);
  expect(tags).toMatchObject({ ManagedBy: MANAGED_BY_VALUE, BuildId: runName(), CopiedFrom: baked, CopiedFromRegion: run.world.region });
  // The setup's dry run copied the first image too.
  expect(regional!.history).toHaveLength(2);
});

it('releases the fleet lock at the end', async () => {
  expect(await run.world.lockHolder()).toBeUndefined();
});

it('bakes an arm64 image in the same run for the Graviton cluster, recorded as ami/arm64/latest', async () => {
  const [, arm] = run.world.bakedAmis;
  expect(await run.world.parameter(run.world.names.latestAmiFor('arm64'))).toBe(arm);
  // Promoted with the x86_64 image once every cluster confirmed the run.
  expect(await run.world.parameter(run.world.names.currentAmiFor('arm64'))).toBe(arm);
  const { tags } = await imageTags(run.world.region, arm!);
  expect(tags).toMatchObject({ BuildId: runName(), ManagedBy: MANAGED_BY_VALUE });
});

it('bakes an image tagged, with its snapshots, as the Packer template tags it', async () => {
  const { tags, snapshotTags } = await imageTags(run.world.region, run.world.bakedAmis[0]!);
  expect(Object.keys(tags).sort()).toEqual([...TAG_KEYS].sort());
  expect(tags).toMatchObject({ ManagedBy: MANAGED_BY_VALUE, SourceAmiId: run.world.baseAmiId, BuildId: runName() });
  // The release the bake reached (the demo's stage does not pin one: the base image's own).
  expect(tags.OsRelease).toMatch(/^2023\.\d+\.\d{8}$/);
  expect(snapshotTags.length).toBeGreaterThan(0);
  for (const snapshot of snapshotTags) expect(snapshot).toMatchObject({ ManagedBy: MANAGED_BY_VALUE });
});

it('leaves every instance of the three clusters on the new AMI (its copy in eu-west-1), registered and ACTIVE', async () => {
  const [baked] = run.world.bakedAmis;
  const [regional] = await run.world.regionalLatest();
  const clusters = await run.world.clusters();
  expect(clusters.map((c) => [c.stackName, c.instances.length])).toEqual([
    ['ecs-dev', 1],
    ['ecs-prod', 3],
    ['ecs-prod-eu', 1],
    ['ecs-prod-arm', 1],
  ]);
  for (const cluster of clusters) {
    for (const instance of cluster.instances) {
      const image = cluster.stackName === 'ecs-prod-eu' ? regional!.value : cluster.stackName === 'ecs-prod-arm' ? run.world.bakedAmis[1] : baked;
      expect(instance).toMatchObject({ amiId: image, ecsStatus: 'ACTIVE' });
    }
  }
  // The old instances are gone from ECS, not merely drained.
  for (const cluster of clusters) {
    const image = cluster.stackName === 'ecs-prod-eu' ? regional!.value : cluster.stackName === 'ecs-prod-arm' ? run.world.bakedAmis[1] : baked;
    expect((await run.world.agents.in(cluster.region).instances(cluster.clusterName)).every((i) => i.amiId === image)).toBe(true);
  }
});

it('asks ops to approve prod once, then tells them once how the run ended, with filterable attributes', async () => {
  const messages = await run.world.opsMessages();
  expect(messages.map((m) => m.attributes.status)).toEqual(['APPROVAL_NEEDED', 'SUCCEEDED']);
  expect(messages[0]!.subject).toBe(`[ecs-ami-pipeline demo] APPROVAL NEEDED: wave prod of run ${runName()}`.slice(0, 99));
  expect(messages[0]!.message).toContain(`ami-pipeline approve ${runName()} --stage demo`);
  expect(messages[1]!.subject).toBe(`[ecs-ami-pipeline demo] SUCCEEDED: ${run.world.bakedAmis[0]} rolled to 4 clusters`);
  expect(messages[1]!.attributes).toEqual({ status: 'SUCCEEDED', stage: 'demo', step: 'promote' });
  // Who approved, and dev's soak, are in the run's message and in the records.
  expect(messages[1]!.message).toMatch(/Approved by arn:aws:\S+ at \S+: dev soaked clean/);
  expect(messages[1]!.message).toMatch(/Soak passed: 2m 0s, 5 checks/);
  const record = JSON.parse((await run.world.parameter(run.world.names.clusterRecord('ecs-prod')))!);
  expect(record.approval).toMatchObject({ by: expect.stringMatching(/^arn:aws:/), reason: 'dev soaked clean' });
  const promotion = JSON.parse((await run.world.parameter(run.world.names.currentAmiRecord))!);
  expect(promotion.approvals).toEqual([expect.objectContaining({ wave: 'prod', reason: 'dev soaked clean' })]);
});

it('finds nothing to do when the check runs again', async () => {
  const again = await run.world.runCheckJob();
  expect(again.outcome).toBe('up-to-date');
  expect(again.message).toContain('no new base AMI');
});

it('made only calls each function\'s packaged role allows, on their real resources', async () => {
  const { report } = await evaluateAgainstPackagedRoles(run.calls, run.world.region);
  expect(report.summary()).toBe('');
  // Every function that calls AWS did (assessWave writes only when an approval is refused), the check job,
  // run-ended, which sees every end, and retention, which the successful end starts.
  expect(new Set(run.calls.map((c) => c.actor))).toEqual(
    new Set(['checkBaseAmi', 'checkRequest', 'recordBakedAmi', 'findConfirmedImage', 'updateStack', 'checkStackUpdate', 'confirmRegistration', 'requestApproval', 'checkSoak', 'copyImage', 'promoteAmi', 'notify', 'releaseFleet', 'runEnded', 'retainImages', undefined]),
  );
});

it('retains per region: 30 days later the first image and its eu-west-1 copy go, the promoted one and its copy stay, every call allowed', async () => {
  const { startRecording, stopRecording } = await import('../../local/iam/recorder');
  const { ec2ResourceTags } = await import('./scenario');
  const [baked] = run.world.bakedAmis;
  const [regional] = await run.world.regionalLatest();
  const firstCopy = regional!.history[0]!;
  // Deletions are judged on the tags the resources had before them.
  const tagsBefore = await ec2ResourceTags([run.world.region, 'eu-west-1']);
  startRecording();
  const result = await run.world.runRetention({ daysLater: 30 });
  const calls = await stopRecording();
  // The first x86_64 image and its arm64 sibling (the dry run's), neither promoted nor in use any more.
  expect(result.deregistered.sort()).toEqual([run.world.firstImage, run.world.firstArmImage].sort());
  expect(result.regions).toHaveLength(1);
  expect(result.regions![0]).toMatchObject({ region: 'eu-west-1', deregistered: [firstCopy] });
  expect(result.regions![0]!.kept.map((k) => k.imageId)).toEqual([regional!.value]);
  expect(result.regions![0]!.kept[0]!.reasons.join('; ')).toContain(`whose copy this is`);
  expect(result.kept.map((k) => k.imageId).sort()).toEqual([baked, run.world.bakedAmis[1]].sort());
  const { report } = await evaluateAgainstPackagedRoles(calls.filter((c) => c.actor === 'retainImages'), run.world.region, tagsBefore);
  expect(report.summary()).toBe('');
  // One message for the pass, both regions in it.
  const retention = (await run.world.opsMessages()).filter((m) => m.attributes.step === 'retention');
  expect(retention).toHaveLength(1);
  expect(retention[0]!.subject).toContain('(and 1 more region)');
  expect(retention[0]!.message).toContain('=== eu-west-1 ===');
}, 60_000);
