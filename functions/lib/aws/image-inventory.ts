/**
 * What retention needs to know, read from AWS: the stage's images, everything that uses one, the
 * runs in flight and the build instances. Every read either succeeds or throws: retention decides
 * only on a complete picture, so a lookup that fails deletes nothing.
 */
import {
  DescribeAutoScalingGroupsCommand,
  DescribeLaunchConfigurationsCommand,
  type AutoScalingClient,
  type LaunchTemplateSpecification,
} from '@aws-sdk/client-auto-scaling';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetParametersByPathCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { snapshotIdsOf, tagValue } from '../contracts/ami';
import {
  AMI_TAGS,
  BASE_AMI_ARCHITECTURES,
  BAKE_INSTANCE_PURPOSE,
  BAKE_INSTANCE_TAGS,
  COPY_TAGS,
  MANAGED_BY_VALUE,
  type ClusterTarget,
  type ParameterNames,
  type PromotionRecord,
} from '../contracts';
import { ERROR_NAMES, PipelineError } from '../contracts/errors';
import { executionNameOf } from '../contracts/executions';
import type { BakeInstance, BakeResource, ImageUse, StageImage, StageSnapshot } from '../decisions/retention';
import { listRunningExecutions } from './aws-lookups';
import { parseClusterRecord } from './cluster-records';
import { parameterHistory, readJsonParameter, readParameter } from './parameters';
import { describeStack, stackResources } from './stack-lookups';

const AMI_IN_TEXT = /\bami-(?:[0-9a-f]{17}|[0-9a-f]{8})\b/g;
/** Instance states in which an instance still holds its image (a stopped one can start again). */
const LIVE_INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

function toStageImage(image: Image): StageImage {
  const mappings = image.BlockDeviceMappings ?? [];
  return {
    imageId: image.ImageId ?? '',
    name: image.Name,
    architecture: image.Architecture ?? 'unknown',
    createdAt: new Date(image.CreationDate ?? 0),
    state: image.State ?? 'unknown',
    snapshotIds: snapshotIdsOf(image),
    sizeGiB: mappings.reduce((sum, m) => sum + (m.Ebs?.VolumeSize ?? 0), 0),
    deprecated: Boolean(image.DeprecationTime),
    baseAmiId: tagValue(image, AMI_TAGS.sourceAmiId),
    buildId: tagValue(image, AMI_TAGS.buildId),
    ...(tagValue(image, COPY_TAGS.copiedFrom) ? { copiedFrom: tagValue(image, COPY_TAGS.copiedFrom) } : {}),
    // Packer tags the image with run_tags at creation and with the versions only at the end.
    versionsRecorded: ![undefined, 'pending'].includes(tagValue(image, AMI_TAGS.ecsAgentVersion)),
  };
}

async function describeOwnImages(ec2: EC2Client, filters: { Name: string; Values: string[] }[]): Promise<Image[]> {
  const images: Image[] = [];
  let nextToken: string | undefined;
  do {
    // Deprecated and disabled images are left out by default: retention deprecates what it keeps and
    // must still see those images (and their snapshots) next time.
    const page = await ec2.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: filters, IncludeDeprecated: true, IncludeDisabled: true, MaxResults: 1000, NextToken: nextToken }),
    );
    images.push(...(page.Images ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return images;
}

type Tags = { Key?: string; Value?: string }[] | undefined;

const tagOf = (tags: Tags, key: string) => tags?.find((t) => t.Key === key)?.Value;

/**
 * The tags that make a resource this stage's: ManagedBy and PipelineStage, plus Purpose=ami-bake on
 * what Packer makes to bake (its run_tags). The same tags the retention role's conditions name.
 */
function stageTags(stage: string, bake = false): Record<string, string> {
  return {
    [AMI_TAGS.managedBy]: MANAGED_BY_VALUE,
    [AMI_TAGS.stage]: stage,
    ...(bake ? { [BAKE_INSTANCE_TAGS.purpose]: BAKE_INSTANCE_PURPOSE } : {}),
  };
}

/** EC2 filters for the tags. Emulators may ignore filters: {@link hasTags} decides either way. */
function tagFilters(wanted: Record<string, string>): { Name: string; Values: string[] }[] {
  return Object.entries(wanted).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
}

function hasTags(tags: Tags, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => tagOf(tags, key) === value);
}

/** Every image this account owns in the region, split the way retention needs it. */
export async function ownImages(
  ec2: EC2Client,
  stage: string,
  amiNamePrefix: string,
): Promise<{ stage: StageImage[]; untagged: StageImage[]; referencedSnapshotIds: string[] }> {
  const images = await describeOwnImages(ec2, []);
  return {
    stage: images.filter((i) => hasTags(i.Tags, stageTags(stage))).map(toStageImage),
    // Named like this stage's but without the pipeline's tags: a bake killed between CreateImage and
    // tagging, or images from before the PipelineStage tag. Reported, never deleted (the role may
    // only delete what carries the stage's tags). Another stage's images carry both tags: not these.
    untagged: images
      .filter((i) => Boolean(amiNamePrefix) && (i.Name ?? '').startsWith(`${amiNamePrefix}-`))
      .filter((i) => !tagValue(i, AMI_TAGS.managedBy) || !tagValue(i, AMI_TAGS.stage))
      .map(toStageImage),
    referencedSnapshotIds: images.flatMap((i) => snapshotIdsOf(i)),
  };
}

/** Snapshots tagged as this stage's (the template's snapshot_tags and run_tags). */
export async function stageSnapshots(ec2: EC2Client, stage: string): Promise<StageSnapshot[]> {
  const found: StageSnapshot[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: tagFilters(stageTags(stage)),
        MaxResults: 1000,
        NextToken: nextToken,
      }),
    );
    for (const snapshot of page.Snapshots ?? []) {
      if (!snapshot.SnapshotId || !hasTags(snapshot.Tags, stageTags(stage))) continue;
      found.push({ snapshotId: snapshot.SnapshotId, createdAt: new Date(snapshot.StartTime ?? 0), sizeGiB: snapshot.VolumeSize ?? 0 });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return found;
}

/** Every image the pipeline's own records name: current, latest, what current replaced, each cluster's confirmed image. */
export async function recordedUses(ssm: SSMClient, names: ParameterNames): Promise<{ uses: ImageUse[]; promotion?: PromotionRecord }> {
  const [current, latest, promotion, ...otherLatest] = await Promise.all([
    readParameter(ssm, names.currentAmi),
    readParameter(ssm, names.latestAmi),
    readJsonParameter<PromotionRecord>(ssm, names.currentAmiRecord),
    ...BASE_AMI_ARCHITECTURES.map((a) => readParameter(ssm, names.latestAmiFor(a))),
    ...BASE_AMI_ARCHITECTURES.map((a) => readParameter(ssm, names.currentAmiFor(a))),
  ]);
  const uses: ImageUse[] = [];
  if (current) uses.push({ imageId: current, kind: 'current', detail: `${names.currentAmi}` });
  if (latest) uses.push({ imageId: latest, kind: 'latest', detail: `${names.latestAmi}` });
  // The newest image of each other architecture (clusters that declare one).
  BASE_AMI_ARCHITECTURES.forEach((a, i) => {
    const latestOf = otherLatest[i] as string | undefined;
    if (latestOf) uses.push({ imageId: latestOf, kind: 'latest', detail: names.latestAmiFor(a) });
    const currentOf = otherLatest[BASE_AMI_ARCHITECTURES.length + i] as string | undefined;
    if (currentOf) uses.push({ imageId: currentOf, kind: 'current', detail: names.currentAmiFor(a) });
  });
  if (promotion?.previousAmiId) {
    uses.push({ imageId: promotion.previousAmiId, kind: 'replaced-by-current', detail: `the image ${promotion.amiId} replaced (its ${promotion.reason} record)` });
  }
  // Every record under clusters/, also of stacks no longer configured: their images may still run.
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(new GetParametersByPathCommand({ Path: names.clusterRecords, Recursive: false, MaxResults: 10, NextToken: nextToken }));
    for (const p of page.Parameters ?? []) {
      const amiId = parseClusterRecord(p.Value)?.amiId;
      const stackName = (p.Name ?? '').slice(names.clusterRecords.length + 1);
      if (amiId) uses.push({ imageId: amiId, kind: 'cluster-confirmed', detail: `cluster stack ${stackName} confirmed it last (its rollback target)`, stackName });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return { uses, promotion };
}

export interface StackUseClients {
  cfn: CloudFormationClient;
  autoscaling: AutoScalingClient;
  ec2: EC2Client;
  ssm: SSMClient;
}

/**
 * What each configured cluster stack uses: its image parameter, and the launch template version
 * each of its Auto Scaling groups launches from (which can differ from the parameter mid-update).
 * A stack that does not exist uses nothing; any other failure throws.
 */
export async function stackUses(clients: StackUseClients, targets: ClusterTarget[]): Promise<{ uses: ImageUse[]; notes: string[] }> {
  const uses: ImageUse[] = [];
  const notes: string[] = [];
  for (const target of targets) {
    let stack;
    try {
      stack = await describeStack(clients.cfn, target.stackName);
    } catch (error) {
      if (error instanceof PipelineError && error.name === ERROR_NAMES.stackNotRollable) {
        notes.push(`configured stack ${target.stackName} does not exist; it uses no image`);
        continue;
      }
      throw error;
    }
    const parameter = stack.Parameters?.find((p) => p.ParameterKey === target.imageParameter);
    const value = parameter?.ResolvedValue ?? parameter?.ParameterValue;
    for (const amiId of value?.match(AMI_IN_TEXT) ?? []) {
      uses.push({ imageId: amiId, kind: 'stack-parameter', detail: `stack ${target.stackName} (${target.imageParameter})` });
    }
    const groups = (await stackResources(clients.cfn, target.stackName))
      .filter((r) => r.type === 'AWS::AutoScaling::AutoScalingGroup' && r.physicalId)
      .map((r) => r.physicalId!);
    uses.push(...(await launchTemplateUses(clients, target.stackName, groups)));
  }
  return { uses, notes };
}

async function launchTemplateUses(clients: StackUseClients, stackName: string, groupNames: string[]): Promise<ImageUse[]> {
  if (!groupNames.length) return [];
  const uses: ImageUse[] = [];
  const out = await clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: groupNames }));
  for (const group of out.AutoScalingGroups ?? []) {
    const where = `group ${group.AutoScalingGroupName} (stack ${stackName})`;
    // The group's template, and the per-instance-type templates a mixed instances policy may override it with.
    const mixed = group.MixedInstancesPolicy?.LaunchTemplate;
    const specs = [group.LaunchTemplate, mixed?.LaunchTemplateSpecification, ...(mixed?.Overrides ?? []).map((o) => o.LaunchTemplateSpecification)].filter(
      (spec): spec is LaunchTemplateSpecification => Boolean(spec?.LaunchTemplateId || spec?.LaunchTemplateName),
    );
    for (const spec of specs) {
      const version = spec.Version ?? '$Default';
      const versions = await clients.ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          ...(spec.LaunchTemplateId ? { LaunchTemplateId: spec.LaunchTemplateId } : { LaunchTemplateName: spec.LaunchTemplateName }),
          Versions: [version],
        }),
      );
      for (const v of versions.LaunchTemplateVersions ?? []) {
        const imageId = await resolvedImage(clients.ssm, v.LaunchTemplateData?.ImageId);
        if (imageId) {
          uses.push({ imageId, kind: 'launch-template', detail: `launch template ${v.LaunchTemplateName ?? v.LaunchTemplateId} version ${v.VersionNumber ?? version} of ${where}` });
        }
      }
    }
    // Launch configurations are deprecated, but a group may still launch from one.
    if (group.LaunchConfigurationName) {
      const configs = await clients.autoscaling.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: [group.LaunchConfigurationName] }));
      for (const config of configs.LaunchConfigurations ?? []) {
        const imageId = await resolvedImage(clients.ssm, config.ImageId);
        if (imageId) uses.push({ imageId, kind: 'launch-template', detail: `launch configuration ${config.LaunchConfigurationName} of ${where}` });
      }
    }
  }
  return uses;
}

/** A launch template may take its image from SSM at launch (resolve:ssm:<name>): that parameter's value is in use. */
async function resolvedImage(ssm: SSMClient, imageId: string | undefined): Promise<string | undefined> {
  return imageId?.startsWith('resolve:ssm:') ? readParameter(ssm, imageId.slice('resolve:ssm:'.length)) : imageId;
}

/** Instances in this account and region, running or stopped, launched from any of `imageIds`. */
export async function instanceUses(ec2: EC2Client, imageIds: string[]): Promise<ImageUse[]> {
  const byImage = new Map<string, { ids: string[]; groups: Set<string> }>();
  for (let i = 0; i < imageIds.length; i += 200) {
    let nextToken: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'image-id', Values: imageIds.slice(i, i + 200) },
            { Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES },
          ],
          MaxResults: 1000,
          NextToken: nextToken,
        }),
      );
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (!instance.ImageId || !instance.InstanceId || !LIVE_INSTANCE_STATES.includes(instance.State?.Name ?? '')) continue;
        if (!imageIds.includes(instance.ImageId)) continue;
        const entry = byImage.get(instance.ImageId) ?? { ids: [], groups: new Set<string>() };
        entry.ids.push(instance.InstanceId);
        // Auto Scaling tags the instances it launches with their group's name.
        const group = instance.Tags?.find((t) => t.Key === 'aws:autoscaling:groupName')?.Value;
        if (group) entry.groups.add(group);
        byImage.set(instance.ImageId, entry);
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return [...byImage].map(([imageId, { ids, groups }]) => ({
    imageId,
    kind: 'instance' as const,
    detail:
      `${ids.length} instance${ids.length === 1 ? '' : 's'} (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', ...' : ''})` +
      (groups.size ? ` of Auto Scaling group ${[...groups].join(', ')}` : ''),
  }));
}

/** The runs in flight: their names (an image they baked carries one as BuildId) and every AMI their input names. */
export async function runsInFlight(sfn: SFNClient, stateMachineArn: string): Promise<{ names: string[]; uses: ImageUse[] }> {
  const running = await listRunningExecutions(sfn, stateMachineArn);
  const names: string[] = [];
  const uses: ImageUse[] = [];
  for (const execution of running) {
    const name = executionNameOf(execution.executionArn);
    names.push(name);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    // A run that was not told an AMI (a bake) names none; a rollback names its target.
    for (const amiId of new Set(described.input?.match(AMI_IN_TEXT) ?? [])) {
      uses.push({ imageId: amiId, kind: 'run-in-flight', detail: `run ${name}, in flight, names it` });
    }
  }
  return { names, uses };
}

/** Packer build instances of this stage (its run_tags), whatever their state. */
export async function bakeInstances(ec2: EC2Client, stage: string): Promise<BakeInstance[]> {
  const found: BakeInstance[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [...tagFilters(stageTags(stage, true)), { Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES }],
        MaxResults: 1000,
        NextToken: nextToken,
      }),
    );
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      if (!instance.InstanceId || !hasTags(instance.Tags, stageTags(stage, true))) continue;
      found.push({
        instanceId: instance.InstanceId,
        state: instance.State?.Name ?? 'unknown',
        launchedAt: new Date(instance.LaunchTime ?? 0),
        buildId: tagOf(instance.Tags, BAKE_INSTANCE_TAGS.buildId),
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return found;
}

/** Packer's temporary security groups and key pairs of this stage (its run_tags, tagged at creation). */
export async function bakeResources(ec2: EC2Client, stage: string): Promise<BakeResource[]> {
  const wanted = stageTags(stage, true);
  const filters = tagFilters(wanted);
  const ours = (tags: Tags) => (hasTags(tags, wanted) ? { buildId: tagOf(tags, BAKE_INSTANCE_TAGS.buildId) } : undefined);
  const found: BakeResource[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters, MaxResults: 1000, NextToken: nextToken }));
    for (const group of page.SecurityGroups ?? []) {
      const tags = ours(group.Tags);
      if (tags && group.GroupId) found.push({ kind: 'security-group', id: group.GroupId, ...tags });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  // DescribeKeyPairs does not page.
  for (const key of (await ec2.send(new DescribeKeyPairsCommand({ Filters: filters }))).KeyPairs ?? []) {
    const tags = ours(key.Tags);
    if (tags && key.KeyName) found.push({ kind: 'key-pair', id: key.KeyName, ...tags });
  }
  return found;
}

export interface SurveyClients extends StackUseClients {
  sfn: SFNClient;
}

export interface SurveyScope {
  stage: string;
  names: ParameterNames;
  /** Every configured cluster target (all waves). */
  targets: ClusterTarget[];
  stateMachineArn: string;
  amiNamePrefix: string;
}

/** Everything the retention decision reads, gathered in one place (the function and `ami-pipeline images` share it). */
export interface ImageSurvey {
  images: StageImage[];
  promotedNewestFirst: string[];
  uses: ImageUse[];
  runsInFlight: string[];
  bakeInstances: BakeInstance[];
  bakeResources: BakeResource[];
  snapshots: StageSnapshot[];
  referencedSnapshotIds: string[];
  /** Images named like the stage's but without its tags: reported, never deleted. */
  untagged: StageImage[];
  /** What the survey noticed on the way (a configured stack that does not exist, ...). */
  notes: string[];
  /** When ami/current last changed (its record), if it ever did. */
  lastPromotedAt?: string;
}

/**
 * The promoted images, each followed by the images its run baked for the other architectures (same
 * BuildId): they were promoted with it, and a rollback to it rolls those clusters back to them, so
 * retention keeps the last N of each architecture.
 */
export function withArchitectureSiblings(promotedNewestFirst: string[], images: StageImage[]): string[] {
  const byId = new Map(images.map((i) => [i.imageId, i]));
  return promotedNewestFirst.flatMap((id) => {
    const buildId = byId.get(id)?.buildId;
    const siblings = buildId ? images.filter((i) => i.buildId === buildId && i.imageId !== id && i.architecture !== byId.get(id)?.architecture).map((i) => i.imageId) : [];
    return [id, ...siblings];
  });
}

export async function surveyStageImages(clients: SurveyClients, scope: SurveyScope): Promise<ImageSurvey> {
  const [own, snapshots, history, recorded, stacks, runs, builders, leftovers] = await Promise.all([
    ownImages(clients.ec2, scope.stage, scope.amiNamePrefix),
    stageSnapshots(clients.ec2, scope.stage),
    parameterHistory(clients.ssm, scope.names.currentAmi),
    recordedUses(clients.ssm, scope.names),
    stackUses(clients, scope.targets),
    runsInFlight(clients.sfn, scope.stateMachineArn),
    bakeInstances(clients.ec2, scope.stage),
    bakeResources(clients.ec2, scope.stage),
  ]);
  const images = own.stage;
  const instances = images.length ? await instanceUses(clients.ec2, images.map((i) => i.imageId)) : [];
  return {
    images,
    snapshots,
    referencedSnapshotIds: own.referencedSnapshotIds,
    promotedNewestFirst: withArchitectureSiblings(history.map((v) => v.value).reverse(), images),
    uses: [...recorded.uses, ...stacks.uses, ...instances, ...runs.uses],
    runsInFlight: runs.names,
    bakeInstances: builders,
    bakeResources: leftovers,
    untagged: own.untagged,
    notes: stacks.notes,
    lastPromotedAt: recorded.promotion?.promotedAt,
  };
}
