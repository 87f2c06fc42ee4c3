import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  EC2Client,
  EC2ServiceException,
  EnableImageDeprecationCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { deleteOrphanSnapshot, deprecateImage, deregisterWithSnapshots, terminateInstances } from '../../functions/lib/aws/image-cleanup';
import type { StageImage } from '../../functions/lib/decisions/retention';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'eu-west-1' });

const IMAGE = 'ami-0aaaaaaaaaaaaaaaa';
const ROOT = 'snap-0aaaaaaaaaaaaaaa1';
const DATA = 'snap-0aaaaaaaaaaaaaaa2';
const ec2Error = (name: string, message = name) => new EC2ServiceException({ name, $fault: 'client', $metadata: {}, message });

function stageImage(snapshotIds = [ROOT, DATA]): StageImage {
  return {
    imageId: IMAGE,
    name: 'ecs-ami-pipeline-prod-20260101000000',
    architecture: 'x86_64',
    createdAt: new Date('2026-01-01T00:00:00.000Z'),
    state: 'available',
    snapshotIds,
    sizeGiB: 60,
    deprecated: false,
    versionsRecorded: true,
  };
}

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(DeregisterImageCommand).resolves({ Return: true });
  ec2Mock.on(DeleteSnapshotCommand).resolves({});
  ec2Mock.on(EnableImageDeprecationCommand).resolves({ Return: true });
  ec2Mock.on(TerminateInstancesCommand).resolves({});
});

const deleted = () => ec2Mock.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId);

describe('deregisterWithSnapshots', () => {
  it('asks EC2 to delete the snapshots with the image and sends nothing more when it reports them deleted', async () => {
    ec2Mock.on(DeregisterImageCommand).resolves({
      Return: true,
      DeleteSnapshotResults: [
        { SnapshotId: ROOT, ReturnCode: 'success' },
        { SnapshotId: DATA, ReturnCode: 'success' },
      ],
    });

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(ec2Mock).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: IMAGE, DeleteAssociatedSnapshots: true });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
    expect(result).toEqual({ imageId: IMAGE, snapshotsDeleted: [ROOT, DATA], snapshotsKept: [] });
  });

  it('deletes every snapshot itself when the answer has no DeleteSnapshotResults', async () => {
    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(deleted()).toEqual([ROOT, DATA]);
    expect(result.snapshotsDeleted).toEqual([ROOT, DATA]);
  });

  it('retries a snapshot EC2 reports as not deleted', async () => {
    ec2Mock.on(DeregisterImageCommand).resolves({
      Return: true,
      DeleteSnapshotResults: [
        { SnapshotId: ROOT, ReturnCode: 'success' },
        { SnapshotId: DATA, ReturnCode: 'internal-error' },
      ],
    });

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(deleted()).toEqual([DATA]);
    expect(result.snapshotsDeleted).toEqual([ROOT, DATA]);
  });

  it('keeps a snapshot another image uses (InvalidSnapshot.InUse) and says why', async () => {
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: DATA }).rejects(ec2Error('InvalidSnapshot.InUse', `The snapshot ${DATA} is currently in use by ami-0bbbbbbbbbbbbbbbb`));

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(deleted()).toEqual([ROOT, DATA]);
    expect(result).toEqual({ imageId: IMAGE, snapshotsDeleted: [ROOT], snapshotsKept: [{ snapshotId: DATA, reason: 'another image uses it' }] });
  });

  it('counts a snapshot already gone (InvalidSnapshot.NotFound) as deleted', async () => {
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: ROOT }).rejects(ec2Error('InvalidSnapshot.NotFound'));

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(result.snapshotsDeleted).toEqual([ROOT, DATA]);
    expect(result.snapshotsKept).toEqual([]);
  });

  it('does not throw once the image is gone: reports a snapshot whose deletion failed otherwise as kept and failed, and goes on with the others', async () => {
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: ROOT }).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(deleted()).toEqual([ROOT, DATA]);
    expect(result).toEqual({
      imageId: IMAGE,
      snapshotsDeleted: [DATA],
      snapshotsKept: [
        {
          snapshotId: ROOT,
          reason: 'its deletion failed (UnauthorizedOperation: You are not authorized to perform this operation.); the next pass deletes it',
          failed: true,
        },
      ],
    });
  });

  it('reports a snapshot EC2 did not delete with the image and whose own deletion then fails (InternalError) as failed', async () => {
    ec2Mock.on(DeregisterImageCommand).resolves({
      Return: true,
      DeleteSnapshotResults: [
        { SnapshotId: ROOT, ReturnCode: 'success' },
        { SnapshotId: DATA, ReturnCode: 'internal-error' },
      ],
    });
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: DATA }).rejects(ec2Error('InternalError', 'An internal error has occurred.\nRequest id 1234'));

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(deleted()).toEqual([DATA]);
    expect(result.snapshotsDeleted).toEqual([ROOT]);
    expect(result.snapshotsKept).toEqual([{ snapshotId: DATA, reason: expect.stringContaining('its deletion failed') as string, failed: true }]);
    // One line: the first line of the message only.
    expect(result.snapshotsKept[0]!.reason).toBe('its deletion failed (InternalError: An internal error has occurred.); the next pass deletes it');
  });

  it('does not mark a snapshot another image uses as failed', async () => {
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: ROOT }).rejects(ec2Error('InvalidSnapshot.InUse'));

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(result.snapshotsKept).toEqual([{ snapshotId: ROOT, reason: 'another image uses it' }]);
    expect(result.snapshotsKept[0]).not.toHaveProperty('failed');
  });

  it('does not throw when the image was already gone and a snapshot cannot be deleted', async () => {
    ec2Mock.on(DeregisterImageCommand).rejects(ec2Error('InvalidAMIID.NotFound'));
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: DATA }).rejects(ec2Error('RequestLimitExceeded', 'Request limit exceeded.'));

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(result).toEqual({
      imageId: IMAGE,
      snapshotsDeleted: [ROOT],
      snapshotsKept: [{ snapshotId: DATA, reason: 'its deletion failed (RequestLimitExceeded: Request limit exceeded.); the next pass deletes it', failed: true }],
    });
  });

  it.each(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'])('treats an image already gone (%s) as deregistered and deletes its snapshots', async (code) => {
    ec2Mock.on(DeregisterImageCommand).rejects(ec2Error(code));

    const result = await deregisterWithSnapshots(ec2, stageImage());

    expect(deleted()).toEqual([ROOT, DATA]);
    expect(result).toEqual({ imageId: IMAGE, snapshotsDeleted: [ROOT, DATA], snapshotsKept: [] });
  });

  it.each(['UnauthorizedOperation', 'InternalError', 'InvalidAMIID.Malformed'])('throws any other deregistration error (%s) without deleting a snapshot', async (code) => {
    ec2Mock.on(DeregisterImageCommand).rejects(ec2Error(code, 'refused'));

    await expect(deregisterWithSnapshots(ec2, stageImage())).rejects.toMatchObject({ name: code });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  it('deregisters an image without snapshots (instance store) and deletes nothing', async () => {
    const result = await deregisterWithSnapshots(ec2, stageImage([]));

    expect(ec2Mock).toHaveReceivedCommandTimes(DeregisterImageCommand, 1);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
    expect(result).toEqual({ imageId: IMAGE, snapshotsDeleted: [], snapshotsKept: [] });
  });
});

describe('deleteOrphanSnapshot', () => {
  it('deletes the snapshot', async () => {
    await deleteOrphanSnapshot(ec2, ROOT);

    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: ROOT });
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  it('counts a snapshot already gone (InvalidSnapshot.NotFound) as deleted', async () => {
    ec2Mock.on(DeleteSnapshotCommand).rejects(ec2Error('InvalidSnapshot.NotFound', `The snapshot '${ROOT}' does not exist.`));

    await expect(deleteOrphanSnapshot(ec2, ROOT)).resolves.toBeUndefined();
  });

  it.each(['InvalidSnapshot.InUse', 'UnauthorizedOperation', 'InternalError'])('throws any other error (%s)', async (code) => {
    ec2Mock.on(DeleteSnapshotCommand).rejects(ec2Error(code, 'refused'));

    await expect(deleteOrphanSnapshot(ec2, ROOT)).rejects.toMatchObject({ name: code });
  });
});

describe('deprecateImage', () => {
  const deprecateAt = () => ec2Mock.commandCalls(EnableImageDeprecationCommand)[0]!.args[0].input.DeprecateAt;

  it.each([
    ['2026-03-10T12:00:30.500Z', '2026-03-10T12:06:00.000Z'],
    ['2026-03-10T12:00:00.001Z', '2026-03-10T12:06:00.000Z'],
    ['2026-03-10T12:00:59.999Z', '2026-03-10T12:06:00.000Z'],
    ['2026-03-10T12:00:00.000Z', '2026-03-10T12:05:00.000Z'],
    ['2026-12-31T23:58:10.000Z', '2027-01-01T00:04:00.000Z'],
  ])('at %s deprecates from %s (a whole minute, at least 5 minutes ahead)', async (now, expected) => {
    await deprecateImage(ec2, IMAGE, new Date(now));

    expect(ec2Mock).toHaveReceivedCommandWith(EnableImageDeprecationCommand, { ImageId: IMAGE });
    const at = deprecateAt()!;
    expect(at).toEqual(new Date(expected));
    expect(at.getTime() % 60_000).toBe(0);
    expect(at.getTime() - new Date(now).getTime()).toBeGreaterThanOrEqual(5 * 60_000);
  });

  it('throws what EC2 answers', async () => {
    ec2Mock.on(EnableImageDeprecationCommand).rejects(ec2Error('InvalidParameterValue', 'DeprecateAt must be in the future'));

    await expect(deprecateImage(ec2, IMAGE, new Date())).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('terminateInstances', () => {
  const IDS = ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2'];

  it('terminates the instances in one call', async () => {
    await terminateInstances(ec2, IDS);

    expect(ec2Mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, { InstanceIds: IDS });
  });

  it('sends nothing for no instances', async () => {
    await terminateInstances(ec2, []);

    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
  });

  it('ignores instances already gone (InvalidInstanceID.NotFound)', async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(ec2Error('InvalidInstanceID.NotFound', `The instance ID '${IDS[0]}' does not exist`));

    await expect(terminateInstances(ec2, IDS)).resolves.toBeUndefined();
  });

  it('throws any other error', async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(ec2Error('UnauthorizedOperation', 'not authorized'));

    await expect(terminateInstances(ec2, IDS)).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });
});
