import { ModifyImageAttributeCommand, ModifySnapshotAttributeCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { launchPermissions, type ShareTargets } from '../decisions/sharing';

/**
 * Shares an image: launch permission for every target, and create-volume permission on its
 * snapshots for the accounts (so they can copy the image; snapshots cannot be shared with an
 * organization or OU, and launching needs no snapshot permission). Adding a permission that is
 * already there changes nothing, so a retry is safe.
 */
export async function shareImage(ec2: EC2Client, imageId: string, snapshotIds: string[], targets: ShareTargets): Promise<void> {
  const permissions = launchPermissions(targets);
  if (!permissions.length) return;
  await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: permissions } }));
  if (!targets.accounts.length) return;
  for (const snapshotId of snapshotIds) {
    await ec2.send(
      new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: targets.accounts }),
    );
  }
}
