/**
 * One scenario of the demo, run against a fresh moto_server for an end-to-end test file, with every
 * AWS call each function makes recorded, to be evaluated against that function's role as
 * `osls package` generates it (the configured stage: the demo's stage, stacks and clusters).
 */
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BaseAmiCheckResult } from '../../functions/lib/aws/base-ami-job';
import { AMI_TAGS } from '../../functions/lib/contracts';
import { ACCOUNT_ID } from '../../local/deployment';
import { evaluateCalls, formatUnusedGrants, unusedGrants, LAMBDA_RUNTIME_ACTIONS, type EvaluationReport } from '../../local/iam/evaluate';
import { installRecorder, startRecording, stopRecording, withActor, type RecordedCall } from '../../local/iam/recorder';
import { evaluationContext, resolvePackagedIam, rolesByActor, type Template } from '../../local/iam/roles';
import type { Moto } from '../../local/moto';
import type { RunOutcome } from '../../local/state-machine';
import { World, type Scenario } from '../../local/world';
import { workerMoto } from '../support/worker-moto';

const { packagedTemplate } = require('../../deploy/packaged-stages') as { packagedTemplate: (name: string) => Template };

export interface ScenarioRun {
  moto: Moto;
  world: World;
  check: BaseAmiCheckResult;
  outcome: RunOutcome;
  /** Every call a function made during the scenario. */
  calls: RecordedCall[];
}

/** The scenario this test file runs (each e2e file has its own module registry). */
let currentScenario: Scenario | undefined;

/** Where each scenario's recorded calls are kept for `make iam-report` (scripts/iam-unused.ts). */
export const RECORDED_CALLS_DIR = path.join(__dirname, '..', '..', '.build', 'iam-calls');

/**
 * Writes a scenario's recorded calls to .build/iam-calls/<scenario>.json, the input of the unused-
 * grant report. Only a report reads them: no test depends on them (the e2e files run in parallel).
 */
export function keepRecordedCalls(scenario: Scenario, calls: RecordedCall[]): void {
  const evaluated = calls.filter((c) => c.actor !== undefined).map(({ actor, action, input, region, ok }) => ({ actor, action, input, region, ok }));
  try {
    mkdirSync(RECORDED_CALLS_DIR, { recursive: true });
    writeFileSync(path.join(RECORDED_CALLS_DIR, `${scenario}.json`), `${JSON.stringify({ scenario, calls: evaluated }, null, 1)}\n`);
  } catch (error) {
    // A report's input: never the reason a scenario fails.
    console.warn(`could not keep the recorded calls of ${scenario}: ${(error as Error).message}`);
  }
}

export async function startWorld(scenario: Scenario): Promise<{ moto: Moto; world: World }> {
  currentScenario = scenario;
  installRecorder();
  const moto = await workerMoto();
  const world = await World.create(moto, { scenario, pauseMs: 10, registrationTimeoutSeconds: 1, actAs: withActor });
  startRecording();
  return { moto, world };
}

export async function runScenario(scenario: Scenario): Promise<ScenarioRun> {
  const { moto, world } = await startWorld(scenario);
  const check = await world.runCheckJob();
  if (!check.executionArn) throw new Error(`the check job started nothing: ${check.message}`);
  const outcome = await world.runExecution(check.executionArn);
  const calls = await stopRecording();
  keepRecordedCalls(scenario, calls);
  return { moto, world, check, outcome, calls };
}

export async function stopScenario(run: { world: World; moto: Moto } | undefined): Promise<void> {
  await run?.world.close();
  await run?.moto.stop();
}

/** The calls evaluated against the packaged roles: a denial names the function, action and resource. */
export async function evaluateAgainstPackagedRoles(
  calls: RecordedCall[],
  region: string,
  /**
   * Tags by ARN, for roles with ResourceTag conditions (World.ec2ResourceTags()). Default: the EC2
   * resources' tags now, right for scenarios that delete nothing; one that deletes reads them first.
   */
  resourceTags?: Map<string, Record<string, string>>,
): Promise<{ report: EvaluationReport; unused: string }> {
  // Scenarios that stop the recording themselves (startWorld + stopRecording) get their calls kept here.
  if (currentScenario) keepRecordedCalls(currentScenario, calls);
  // Calls go to every region the fleet is in (copies, regional clusters), each named by its own ARN.
  resourceTags ??= await ec2ResourceTags([...new Set([region, ...calls.map((c) => c.region).filter((r): r is string => Boolean(r))])]);
  const iam = resolvePackagedIam(packagedTemplate('configured'), { account: ACCOUNT_ID, region });
  const report = await evaluateCalls(calls, rolesByActor(iam), { ...evaluationContext(iam), ...(resourceTags ? { resourceTags: (a: string) => resourceTags.get(a) } : {}) });
  const unused = formatUnusedGrants(unusedGrants(calls, rolesByActor(iam), { ...evaluationContext(iam), assumeUsed: LAMBDA_RUNTIME_ACTIONS }));
  return { report, unused };
}

/** The AMI's tags and those of its snapshots, as EC2 reports them. */
export async function imageTags(region: string, amiId: string) {
  const ec2 = new EC2Client({ region });
  const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] }))).Images![0]!;
  const tags = Object.fromEntries((image.Tags ?? []).map((t) => [t.Key!, t.Value!]));
  const snapshotIds = (image.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId).filter((id): id is string => Boolean(id));
  const snapshots = snapshotIds.length
    ? (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }))).Snapshots ?? []
    : [];
  return { tags, snapshotTags: snapshots.map((s) => Object.fromEntries((s.Tags ?? []).map((t) => [t.Key!, t.Value!]))) };
}

export const TAG_KEYS = Object.values(AMI_TAGS);

/** The tags of every image, snapshot, instance, security group and key pair in moto now (in these regions), by ARN as IAM names them. */
export async function ec2ResourceTags(regions: string | string[]): Promise<Map<string, Record<string, string>>> {
  const byArn = new Map<string, Record<string, string>>();
  for (const region of [regions].flat()) await addEc2ResourceTags(region, byArn);
  return byArn;
}

async function addEc2ResourceTags(region: string, byArn: Map<string, Record<string, string>>): Promise<void> {
  const ec2 = new EC2Client({ region });
  const tags = (list: { Key?: string; Value?: string }[] | undefined) => Object.fromEntries((list ?? []).map((t) => [t.Key!, t.Value!]));
  const arn = (type: string, id: string, account = '') => `arn:aws:ec2:${region}:${account}:${type}/${id}`;
  for (const image of (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []) byArn.set(arn('image', image.ImageId!), tags(image.Tags));
  for (const snapshot of (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []) byArn.set(arn('snapshot', snapshot.SnapshotId!), tags(snapshot.Tags));
  for (const instance of ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
    byArn.set(arn('instance', instance.InstanceId!, ACCOUNT_ID), tags(instance.Tags));
  }
  for (const group of (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []) byArn.set(arn('security-group', group.GroupId!, ACCOUNT_ID), tags(group.Tags));
  for (const key of (await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []) byArn.set(arn('key-pair', key.KeyName!, ACCOUNT_ID), tags(key.Tags));
}
