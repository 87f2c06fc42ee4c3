import { snapshotIdsOf } from '../lib/contracts/ami';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CopyImageCommand, DescribeImagesCommand, EC2Client, type Filter, type Image } from '@aws-sdk/client-ec2';
import { describeImage } from '../lib/aws/aws-lookups';
import { shareImage } from '../lib/aws/image-sharing';
import { writeParameter } from '../lib/aws/parameters';
import { ec2In, ssmIn } from '../lib/aws/regional-clients';
import { holdFleet } from '../lib/aws/run-ledger';
import { AMI_TAGS, COPY_TAGS, LAMBDA_ENV, MANAGED_BY_VALUE, parameterNames, type BakedAmiRecord, type ClusterTarget, type CopyTarget } from '../lib/contracts';
import { ERROR_NAMES, PipelineError } from '../lib/contracts/errors';
import type { BakedAmi, RegionalCopy } from '../lib/contracts/plan';
import { copyClientToken, copyProgress, copyTags } from '../lib/decisions/copies';
import { isSharing } from '../lib/decisions/sharing';
import { baseAmiArchitecture, createLogger, lambdaHandler, requireEnv, runLedgerTable, shareTargets } from '../lib/handler';

const ec2 = new EC2Client({});
const ddb = new DynamoDBClient({});
const logger = createLogger('copy-image');

export type CopyImageEvent = CopyStepEvent | FindCopyEvent;

/** A cluster target in another region: which image there is the copy of the stage-region image it rolls. */
export interface FindCopyEvent {
  kind: 'find';
  target: ClusterTarget;
  /** The stage-region image (the release). */
  amiId: string;
  /** The release: its buildId names the run whose images of every architecture roll together. */
  release?: { buildId?: string };
}

export interface CopyStepEvent {
  /** start: ask EC2 for the copy; check: is it available yet (then record it there). */
  kind: 'start' | 'check';
  executionArn: string;
  runId: string;
  copy: CopyTarget;
  baked: BakedAmi;
  /** check: what start answered. */
  started?: { region: string; amiId: string; startedAt: string };
}

/**
 * Starts the copy in the target region: encrypted (with the region's key when one is configured),
 * tagged like the image plus where it came from, idempotent by a ClientToken of the run and region.
 */
async function startCopy(event: CopyStepEvent): Promise<{ region: string; amiId: string; startedAt: string }> {
  const home = requireEnv('AWS_REGION');
  const source = await describeImage(ec2, event.baked.amiId);
  if (!source) throw new PipelineError(ERROR_NAMES.copyFailed, `the baked image ${event.baked.amiId} is not in ${home} any more`);
  const tags = copyTags(source.Tags ?? [], event.baked.amiId, home);
  await holdFleet(ddb, runLedgerTable(), event.executionArn, new Date());
  const out = await ec2In(event.copy.region).send(
    new CopyImageCommand({
      SourceImageId: event.baked.amiId,
      SourceRegion: home,
      Name: source.Name ?? event.baked.amiId,
      Description: `${source.Description ?? ''} (copy of ${event.baked.amiId} from ${home})`.trim().slice(0, 255),
      Encrypted: true,
      ...(event.copy.kmsKeyId ? { KmsKeyId: event.copy.kmsKeyId } : {}),
      ClientToken: copyClientToken(event.runId, event.copy.region),
      TagSpecifications: [
        { ResourceType: 'image', Tags: tags },
        { ResourceType: 'snapshot', Tags: tags },
      ],
    }),
  );
  if (!out.ImageId) throw new PipelineError(ERROR_NAMES.copyFailed, `CopyImage to ${event.copy.region} answered no image id`);
  logger.info('copy started', { region: event.copy.region, sourceAmiId: event.baked.amiId, amiId: out.ImageId });
  return { region: event.copy.region, amiId: out.ImageId, startedAt: new Date().toISOString() };
}

/** Once the copy is available: shared like the image (when the stage shares), then `ami/latest` in its region. */
async function checkCopy(event: CopyStepEvent): Promise<RegionalCopy> {
  const started = event.started;
  if (!started) throw new Error('check needs what start answered (started)');
  const regional = ec2In(started.region);
  const image = await describeImage(regional, started.amiId);
  const progress = copyProgress(image?.State);
  if (progress === 'pending') throw new PipelineError(ERROR_NAMES.copyPending, `copy ${started.amiId} in ${started.region} is ${image?.State ?? 'not visible yet'}`);
  if (progress === 'failed') {
    throw new PipelineError(ERROR_NAMES.copyFailed, `copy ${started.amiId} in ${started.region} is ${image?.State}: ${image?.StateReason?.Message ?? 'no reason given'}`);
  }
  const share = shareTargets();
  if (isSharing(share)) {
    await shareImage(regional, started.amiId, snapshotIdsOf(image), share);
  }
  const names = parameterNames(requireEnv(LAMBDA_ENV.parameterPrefix));
  const record: BakedAmiRecord & { copiedFrom: { region: string; amiId: string } } = {
    amiId: started.amiId,
    baseAmiId: event.baked.baseAmiId,
    baseAmiName: event.baked.baseAmiName,
    buildId: event.baked.buildId,
    codeBuildId: event.baked.codeBuildId,
    executionArn: event.executionArn,
    recordedAt: new Date().toISOString(),
    copiedFrom: { region: requireEnv('AWS_REGION'), amiId: event.baked.amiId },
  };
  await holdFleet(ddb, runLedgerTable(), event.executionArn, new Date());
  const ssm = ssmIn(started.region);
  await writeParameter(ssm, names.latestAmiRecord, JSON.stringify(record), { description: `Record of the latest AMI, a copy of ${event.baked.amiId}` });
  await writeParameter(ssm, names.latestAmi, started.amiId, {
    description: `Copy of ${event.baked.amiId} baked by run ${event.runId}`,
    dataType: 'aws:ec2:image',
  });
  logger.info('copy recorded', { region: started.region, amiId: started.amiId });
  return { region: started.region, amiId: started.amiId };
}

/** The newest available image of this stage (its tags) in the client's region that also matches `filters`. */
async function newestStageImage(client: EC2Client, filters: Filter[]): Promise<Image | undefined> {
  const out = await client.send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [
        ...filters,
        { Name: `tag:${AMI_TAGS.managedBy}`, Values: [MANAGED_BY_VALUE] },
        { Name: `tag:${AMI_TAGS.stage}`, Values: [requireEnv(LAMBDA_ENV.stage)] },
        { Name: 'state', Values: ['available'] },
      ],
    }),
  );
  return (out.Images ?? []).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
}

/**
 * The copy of `amiId` in the target's region, found by the tags every copy carries (CopiedFrom, and
 * the stage's own): the same lookup serves a rollout and a rollback to an earlier image.
 */
async function findCopy(event: FindCopyEvent): Promise<string> {
  const home = requireEnv('AWS_REGION');
  const region = event.target.region;
  const architecture = event.target.architecture;
  if (architecture && architecture !== baseAmiArchitecture()) {
    if (region && region !== home) {
      throw new PipelineError(ERROR_NAMES.copyFailed, `${event.target.stackName} is ${architecture} in ${region}: copies to other regions are of the stage's architecture only`);
    }
    return siblingFor(event, architecture);
  }
  if (!region || region === home) return event.amiId;
  const copy = await newestStageImage(ec2In(region), [{ Name: `tag:${COPY_TAGS.copiedFrom}`, Values: [event.amiId] }]);
  if (!copy?.ImageId) {
    throw new PipelineError(
      ERROR_NAMES.copyFailed,
      `${event.amiId} has no available copy in ${region} for ${event.target.stackName}: the run that baked it did not copy it there (copyToRegions), or the copy was deleted`,
    );
  }
  return copy.ImageId;
}

/**
 * The image the run that baked `amiId` baked for `architecture` (same BuildId tag), so a rollout and a
 * rollback to an earlier image move every architecture's clusters together.
 */
async function siblingFor(event: FindCopyEvent, architecture: string): Promise<string> {
  const buildId = event.release?.buildId;
  if (!buildId) throw new PipelineError(ERROR_NAMES.copyFailed, `${event.amiId} names no build (BuildId tag), so its ${architecture} image cannot be found for ${event.target.stackName}`);
  const image = await newestStageImage(ec2, [
    { Name: `tag:${AMI_TAGS.buildId}`, Values: [buildId] },
    { Name: 'architecture', Values: [architecture] },
  ]);
  if (!image?.ImageId) {
    throw new PipelineError(
      ERROR_NAMES.copyFailed,
      `run ${buildId} baked no ${architecture} image for ${event.target.stackName}: a run bakes one only for the clusters it rolls (or every cluster, in a dry run)`,
    );
  }
  return image.ImageId;
}

export const handler = lambdaHandler(logger, async (event: CopyImageEvent) => {
  if (event.kind === 'find') return findCopy(event);
  return event.kind === 'start' ? startCopy(event) : checkCopy(event);
});
