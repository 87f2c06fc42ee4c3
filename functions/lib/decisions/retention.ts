/**
 * Image retention: which of a stage's images to keep, which to deregister (with their snapshots),
 * which to mark deprecated, and which leftover build instances to terminate. Pure: the handler
 * gathers what AWS says (functions/lib/aws/image-inventory.ts) and carries the plan out.
 *
 * The rules, in the order a reviewer checks them:
 * 1. Only images of this stage are considered (the inventory selects them by tag, and IAM allows
 *    nothing else); anything else is not even listed.
 * 2. An image younger than the grace period is never touched: it may be a bake whose run has not
 *    recorded it yet.
 * 3. An image anything uses is kept, with every reason: `ami/current`, `ami/latest`, a cluster's
 *    confirmed image (its rollback target), the image the current one replaced, a cluster stack's
 *    image parameter, a launch template version an Auto Scaling group of those stacks launches
 *    from, an instance (running or stopped) launched from it, or a run in flight that names it.
 * 4. The last N promoted images of each architecture are kept (rollback candidates).
 * 5. Everything else is deregistered. Kept images that a newer promoted image of their
 *    architecture superseded are marked deprecated, so launch wizards warn.
 * Build instances are terminated only when tagged as this stage's bake and older than the bound.
 */

export type UseKind =
  | 'current'
  | 'latest'
  | 'cluster-confirmed'
  | 'replaced-by-current'
  | 'stack-parameter'
  | 'launch-template'
  | 'instance'
  | 'run-in-flight';

/** Something that still needs an image, and who: shown to ops as "in use by <detail>". */
export interface ImageUse {
  imageId: string;
  kind: UseKind;
  /** e.g. `stack ecs-prod (ApplicationImageId)`, `instances i-0a, i-0b`, `run weekly-2026-11-23`. */
  detail: string;
  /** The cluster stack a `cluster-confirmed` use belongs to. */
  stackName?: string;
}

/** One of the stage's images as EC2 describes it. */
export interface StageImage {
  imageId: string;
  name?: string;
  architecture: string;
  createdAt: Date;
  /** EC2's state: available, pending, failed, ... */
  state: string;
  snapshotIds: string[];
  /** GiB of its EBS snapshots (the sum of its block device mappings' volume sizes). */
  sizeGiB: number;
  /** EC2 already has a deprecation time for it. */
  deprecated: boolean;
  /** The base AMI it was baked from (SourceAmiId tag). */
  baseAmiId?: string;
  /** The run that baked it (BuildId tag). */
  buildId?: string;
  /** False when the bake never recorded the versions (tags missing or still `pending`): a build that did not finish. */
  versionsRecorded: boolean;
  /** In another region than the stage's: the stage-region image this one is a copy of (CopiedFrom tag). */
  copiedFrom?: string;
}

/** A temporary security group or key pair Packer made for a bake (tagged with its run_tags). */
export interface BakeResource {
  kind: 'security-group' | 'key-pair';
  /** The group id, or the key pair's name. */
  id: string;
  buildId?: string;
}

export interface BakeInstance {
  instanceId: string;
  state: string;
  launchedAt: Date;
  buildId?: string;
}

/** A snapshot tagged as this stage's. */
export interface StageSnapshot {
  snapshotId: string;
  createdAt: Date;
  sizeGiB: number;
}

export interface RetentionPolicy {
  /** Promoted images kept per architecture, in use or not. */
  keepPromoted: number;
  graceDays: number;
  bakeLeftoverHours: number;
}

export interface RetentionInput {
  now: Date;
  policy: RetentionPolicy;
  images: StageImage[];
  /** `ami/current`'s values, newest first (its parameter history); repeats allowed (rollbacks). */
  promotedNewestFirst: string[];
  uses: ImageUse[];
  /** Execution names of the runs in flight: an image they baked (BuildId) is theirs until they record it. */
  runsInFlight: string[];
  bakeInstances: BakeInstance[];
  /** Packer's temporary security groups and key pairs of this stage. */
  bakeResources?: BakeResource[];
  /** The stage's snapshots, and every snapshot any image of this account still names. */
  snapshots?: StageSnapshot[];
  referencedSnapshotIds?: string[];
}

export type KeepReason =
  | { kind: UseKind; detail: string }
  | { kind: 'promoted-recently'; detail: string }
  | { kind: 'grace-period'; detail: string };

export interface KeptImage {
  image: StageImage;
  reasons: KeepReason[];
  /** Superseded by a newer promoted image of its architecture and not yet deprecated. */
  deprecate: boolean;
}

export interface RemovedImage {
  image: StageImage;
  /** Why nothing keeps it, as ops read it. */
  why: string;
}

export interface RetentionPlan {
  keep: KeptImage[];
  deregister: RemovedImage[];
  terminate: (BakeInstance & { why: string })[];
  /** Snapshots of the stage no image names any more: an earlier pass deregistered the image but could not delete them. */
  deleteSnapshots: (StageSnapshot & { why: string })[];
  /** Temporary security groups and key pairs of bakes that are over (no run in flight, no build instance left). */
  deleteBakeResources: (BakeResource & { why: string })[];
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

function ageDays(image: StageImage, now: Date): number {
  return (now.getTime() - image.createdAt.getTime()) / DAY_MS;
}

function roundedDays(days: number): string {
  const whole = Math.floor(days);
  return `${whole} day${whole === 1 ? '' : 's'}`;
}

/** The last `keep` distinct promoted images of each architecture that still exist, newest first. */
function recentlyPromoted(images: StageImage[], promotedNewestFirst: string[], keep: number): Map<string, number> {
  const byId = new Map(images.map((i) => [i.imageId, i]));
  const rankById = new Map<string, number>();
  const countByArch = new Map<string, number>();
  for (const id of promotedNewestFirst) {
    const image = byId.get(id);
    if (!image || rankById.has(id)) continue;
    const count = countByArch.get(image.architecture) ?? 0;
    if (count >= keep) continue;
    countByArch.set(image.architecture, count + 1);
    rankById.set(id, count + 1);
  }
  return rankById;
}

/** The newest promoted image of each architecture: images created before it are superseded. */
function newestPromotedByArch(images: StageImage[], promotedNewestFirst: string[]): Map<string, StageImage> {
  const byId = new Map(images.map((i) => [i.imageId, i]));
  const newest = new Map<string, StageImage>();
  for (const id of promotedNewestFirst) {
    const image = byId.get(id);
    if (image && !newest.has(image.architecture)) newest.set(image.architecture, image);
  }
  return newest;
}

function whyRemoved(image: StageImage, input: RetentionInput): string {
  const age = roundedDays(ageDays(image, input.now));
  if (image.state === 'failed') return `EC2 marked it failed; ${age} old`;
  if (!image.versionsRecorded) return `its bake never finished (versions still "pending"); ${age} old, in use by nothing`;
  const promoted = input.promotedNewestFirst.includes(image.imageId);
  return promoted
    ? `promoted once, now older than the last ${input.policy.keepPromoted} promoted ${image.architecture} images; ${age} old, in use by nothing`
    : `never promoted; ${age} old, in use by nothing`;
}

export function decideRetention(input: RetentionInput): RetentionPlan {
  const { now, policy } = input;
  const usesById = new Map<string, ImageUse[]>();
  for (const use of input.uses) usesById.set(use.imageId, [...(usesById.get(use.imageId) ?? []), use]);
  const inFlight = new Set(input.runsInFlight);
  const promotedRank = recentlyPromoted(input.images, input.promotedNewestFirst, policy.keepPromoted);
  const newestPromoted = newestPromotedByArch(input.images, input.promotedNewestFirst);

  const keep: KeptImage[] = [];
  const deregister: RemovedImage[] = [];
  for (const image of input.images) {
    const reasons: KeepReason[] = (usesById.get(image.imageId) ?? []).map((u) => ({ kind: u.kind, detail: u.detail }));
    if (image.buildId && inFlight.has(image.buildId)) {
      reasons.push({ kind: 'run-in-flight', detail: `run ${image.buildId} baked it and is still running` });
    }
    const rank = promotedRank.get(image.imageId);
    if (rank !== undefined) {
      reasons.push({ kind: 'promoted-recently', detail: `promoted ${rank === 1 ? 'most recently' : `${rank} promotions ago`} (keeping ${policy.keepPromoted} per architecture)` });
    }
    const age = ageDays(image, now);
    if (age < policy.graceDays) {
      reasons.push({ kind: 'grace-period', detail: `${roundedDays(age)} old, younger than the ${policy.graceDays}-day grace period` });
    }
    if (reasons.length === 0) {
      deregister.push({ image, why: whyRemoved(image, input) });
      continue;
    }
    const newest = newestPromoted.get(image.architecture);
    const superseded =
      newest !== undefined &&
      newest.imageId !== image.imageId &&
      image.createdAt.getTime() < newest.createdAt.getTime() &&
      !reasons.some((r) => r.kind === 'current' || r.kind === 'latest');
    keep.push({ image, reasons, deprecate: superseded && !image.deprecated && image.state === 'available' });
  }

  const terminate = input.bakeInstances
    .filter((i) => !['terminated', 'shutting-down'].includes(i.state))
    .filter((i) => now.getTime() - i.launchedAt.getTime() > policy.bakeLeftoverHours * HOUR_MS)
    .filter((i) => !(i.buildId && inFlight.has(i.buildId)))
    .map((i) => ({
      ...i,
      why: `build instance of ${i.buildId ? `bake ${i.buildId}` : 'an unknown bake'}, ${i.state} for ${Math.floor((now.getTime() - i.launchedAt.getTime()) / HOUR_MS)} h (longer than any bake lives: ${policy.bakeLeftoverHours} h)`,
    }));

  // Snapshots of images deregistered in this plan go with them; only older orphans are listed here.
  const referenced = new Set(input.referencedSnapshotIds ?? []);
  for (const image of input.images) for (const id of image.snapshotIds) referenced.add(id);
  const deleteSnapshots = (input.snapshots ?? [])
    .filter((snapshot) => !referenced.has(snapshot.snapshotId))
    .filter((snapshot) => (now.getTime() - snapshot.createdAt.getTime()) / DAY_MS >= policy.graceDays)
    .map((snapshot) => ({
      ...snapshot,
      why: `no image names it any more (its image was deregistered and the snapshot was left); ${roundedDays((now.getTime() - snapshot.createdAt.getTime()) / DAY_MS)} old`,
    }));

  // A bake's group and key pair stay while its run is in flight or any of its build instances is left
  // (the instance may still use the group; it is terminated first, and its group goes next pass).
  const liveBuilds = new Set(input.bakeInstances.filter((i) => i.state !== 'terminated').map((i) => i.buildId));
  const deleteBakeResources = (input.bakeResources ?? [])
    .filter((r) => !(r.buildId && inFlight.has(r.buildId)))
    .filter((r) => !liveBuilds.has(r.buildId))
    .map((r) => ({
      ...r,
      why: `temporary ${r.kind === 'security-group' ? 'security group' : 'key pair'} of ${r.buildId ? `bake ${r.buildId}` : 'an unknown bake'}, which is over and has no build instance left`,
    }));

  return { keep, deregister, terminate, deleteSnapshots, deleteBakeResources };
}

/** The one-line reason list of a kept image, as the message and `ami-pipeline images` show it. */
export function describeReasons(reasons: KeepReason[]): string {
  return reasons.map((r) => r.detail).join('; ');
}

/** GiB of snapshot storage the deregistered images held, for the message. */
export function freedGiB(plan: RetentionPlan): number {
  return plan.deregister.reduce((sum, r) => sum + r.image.sizeGiB, 0) + plan.deleteSnapshots.reduce((sum, s) => sum + s.sizeGiB, 0);
}
