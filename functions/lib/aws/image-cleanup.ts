/** The changes retention makes: each one idempotent, so a retried or repeated pass finishes the job. */
import {
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  EnableImageDeprecationCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { isAwsError, oneLineError } from '../contracts/errors';
import type { BakeResource, StageImage } from '../decisions/retention';

export interface DeregisteredImage {
  imageId: string;
  /** Snapshots gone: deleted with the image (DeleteAssociatedSnapshots), or one by one after it. */
  snapshotsDeleted: string[];
  /** Snapshots still there (another image uses them, or their deletion failed): still billed, named in the message. */
  snapshotsKept: { snapshotId: string; reason: string; failed?: boolean }[];
}

function alreadyGone(error: unknown, codes: string[]): boolean {
  return codes.some((code) => isAwsError(error, code));
}

/**
 * Deregisters the image and deletes its snapshots. DeregisterImage's DeleteAssociatedSnapshots does
 * both in one call where EC2 offers it; whatever snapshot its answer does not report deleted (an
 * endpoint or partition without the option, or an emulator) is deleted explicitly. An image that is
 * already gone counts as deregistered. Once the image is gone nothing throws: a snapshot that could
 * not be deleted is reported (`failed`), and the next pass finds it as an orphan of the stage.
 */
export async function deregisterWithSnapshots(ec2: EC2Client, image: StageImage): Promise<DeregisteredImage> {
  let reported: { SnapshotId?: string; ReturnCode?: string }[] = [];
  try {
    const out = await ec2.send(new DeregisterImageCommand({ ImageId: image.imageId, DeleteAssociatedSnapshots: true }));
    reported = out.DeleteSnapshotResults ?? [];
  } catch (error) {
    if (!alreadyGone(error, ['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'])) throw error;
  }
  const result: DeregisteredImage = { imageId: image.imageId, snapshotsDeleted: [], snapshotsKept: [] };
  for (const snapshotId of image.snapshotIds) {
    const code = reported.find((r) => r.SnapshotId === snapshotId)?.ReturnCode;
    if (code === 'success') {
      result.snapshotsDeleted.push(snapshotId);
      continue;
    }
    try {
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      result.snapshotsDeleted.push(snapshotId);
    } catch (error) {
      if (alreadyGone(error, ['InvalidSnapshot.NotFound'])) {
        result.snapshotsDeleted.push(snapshotId);
      } else if (isAwsError(error, 'InvalidSnapshot.InUse')) {
        result.snapshotsKept.push({ snapshotId, reason: 'another image uses it' });
      } else {
        result.snapshotsKept.push({ snapshotId, reason: `its deletion failed (${oneLineError(error)}); the next pass deletes it`, failed: true });
      }
    }
  }
  return result;
}

/**
 * Marks an image deprecated from now on (EC2 rounds to the minute and wants a time in the
 * future): the console's launch wizard then warns, while launch templates and Auto Scaling
 * groups that name the image keep launching it.
 */
export async function deprecateImage(ec2: EC2Client, imageId: string, now: Date): Promise<void> {
  const at = new Date(Math.ceil((now.getTime() + 5 * 60_000) / 60_000) * 60_000);
  await ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: at }));
}

/** Deletes a snapshot of the stage whose image is gone; one already gone counts as deleted. */
export async function deleteOrphanSnapshot(ec2: EC2Client, snapshotId: string): Promise<void> {
  try {
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
  } catch (error) {
    if (!alreadyGone(error, ['InvalidSnapshot.NotFound'])) throw error;
  }
}

/**
 * Deletes a bake's temporary security group or key pair; one already gone counts as deleted. A group
 * still attached (its instance is shutting down) is left for the next pass: `false`.
 */
export async function deleteBakeResource(ec2: EC2Client, resource: BakeResource): Promise<boolean> {
  try {
    if (resource.kind === 'security-group') await ec2.send(new DeleteSecurityGroupCommand({ GroupId: resource.id }));
    else await ec2.send(new DeleteKeyPairCommand({ KeyName: resource.id }));
    return true;
  } catch (error) {
    if (alreadyGone(error, ['InvalidGroup.NotFound', 'InvalidKeyPair.NotFound'])) return true;
    if (isAwsError(error, 'DependencyViolation')) return false;
    throw error;
  }
}

export async function terminateInstances(ec2: EC2Client, instanceIds: string[]): Promise<void> {
  if (!instanceIds.length) return;
  try {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
  } catch (error) {
    if (!alreadyGone(error, ['InvalidInstanceID.NotFound'])) throw error;
  }
}
