/** One scenario of the demo, run against a fresh moto_server for an end-to-end test file. */
import { AMI_TAGS } from '../../functions/lib/contracts';
import type { BaseAmiCheckResult } from '../../functions/lib/base-ami-job';
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../../local/moto';
import type { RunOutcome } from '../../local/state-machine';
import { World, type Scenario } from '../../local/world';

export interface ScenarioRun {
  moto: Moto;
  world: World;
  check: BaseAmiCheckResult;
  outcome: RunOutcome;
}

export async function runScenario(scenario: Scenario): Promise<ScenarioRun> {
  const moto = await startMoto();
  const world = await World.create(moto, { scenario, pauseMs: 50, registrationTimeoutSeconds: 2 });
  const check = await world.runCheckJob();
  if (!check.executionArn) throw new Error(`the check job started nothing: ${check.message}`);
  const outcome = await world.runExecution(check.executionArn);
  return { moto, world, check, outcome };
}

export async function stopScenario(run: ScenarioRun | undefined): Promise<void> {
  await run?.world.close();
  await run?.moto.stop();
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
