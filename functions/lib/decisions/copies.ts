/**
 * Copies of each baked image in other regions (param copyToRegions): after the bake, the image is
 * copied to each region, encrypted with that region's key, carries the image's tags plus where it
 * came from, and is recorded as `ami/latest` in that region's SSM under the same prefix.
 */
import type { Tag } from '@aws-sdk/client-ec2';
import { AWS_REGION_PATTERN, COPY_TAGS, KMS_KEY_ARN_PATTERN, type CopyTarget } from '../contracts';
import { boundedToken } from '../contracts/executions';
import type { ShareTargets } from './sharing';
import { isSharing } from './sharing';


/** CopyImage copies from one region per call and AWS limits concurrent copies per destination; ten is plenty. */
export const MAX_COPY_REGIONS = 10;

/**
 * The copyToRegions param: region names, or `{region, kmsKeyId}`. Refuses what cannot work: the home
 * region, a region twice, a key of another region, and sharing without a customer managed key in
 * every copy region (the AWS managed key cannot be shared, as at home).
 */
export function parseCopyTargets(
  raw: unknown,
  home: string,
  share: ShareTargets,
): { ok: true; targets: CopyTarget[] } | { ok: false; problem: string } {
  const entries = raw === undefined || raw === null || raw === '' ? [] : raw;
  if (!Array.isArray(entries)) return { ok: false, problem: `must be a list of regions or {region, kmsKeyId}; got ${JSON.stringify(raw).slice(0, 80)}` };
  if (entries.length > MAX_COPY_REGIONS) return { ok: false, problem: `names ${entries.length} regions; copy to at most ${MAX_COPY_REGIONS}` };
  const targets: CopyTarget[] = [];
  for (const [i, entry] of entries.entries()) {
    const item = typeof entry === 'string' ? { region: entry } : (entry as Record<string, unknown> | null);
    if (!item || typeof item !== 'object' || Array.isArray(item)) return { ok: false, problem: `[${i}] must be a region name or {region, kmsKeyId}` };
    const unknown = Object.keys(item).filter((k) => k !== 'region' && k !== 'kmsKeyId');
    if (unknown.length) return { ok: false, problem: `[${i}] has unknown field(s) ${unknown.join(', ')}; only region and kmsKeyId` };
    const region = String(item.region ?? '').trim();
    if (!AWS_REGION_PATTERN.test(region)) return { ok: false, problem: `[${i}].region ${JSON.stringify(region).slice(0, 40)} is not a region name like eu-west-1` };
    if (region === home) return { ok: false, problem: `[${i}].region ${region} is the stage's own region: the image is baked there` };
    if (targets.some((t) => t.region === region)) return { ok: false, problem: `[${i}].region ${region} is named twice` };
    const kmsKeyId = item.kmsKeyId === undefined || item.kmsKeyId === '' ? undefined : String(item.kmsKeyId).trim();
    if (kmsKeyId !== undefined) {
      const match = KMS_KEY_ARN_PATTERN.exec(kmsKeyId);
      if (!match) return { ok: false, problem: `[${i}].kmsKeyId must be the full ARN of a KMS key (arn:<partition>:kms:<region>:<account>:key/<id>), because IAM matches keys by ARN only` };
      if (match[2] !== region) return { ok: false, problem: `[${i}].kmsKeyId is a key of ${match[2]}; a copy in ${region} is encrypted with a key of ${region}` };
    }
    if (isSharing(share) && !kmsKeyId) {
      return { ok: false, problem: `[${i}] ${region} needs a kmsKeyId: the stage shares its images (shareWith), and a copy under the AWS managed key cannot be shared` };
    }
    targets.push({ region, ...(kmsKeyId ? { kmsKeyId } : {}) });
  }
  return { ok: true, targets };
}

/**
 * Cluster targets in a region the image is not copied to: they could never be rolled. Packaging
 * refuses them, naming the param to change.
 */
export function targetsWithoutCopies(waves: { name: string; clusters: { stackName: string; region?: string }[] }[], home: string, targets: CopyTarget[]): string[] {
  const copied = new Set(targets.map((t) => t.region));
  return waves.flatMap((w, i) =>
    w.clusters.flatMap((c, j) =>
      c.region && c.region !== home && !copied.has(c.region)
        ? [`waves[${i}].clusters[${j}] (${c.stackName}) is in ${c.region}, which copyToRegions does not name: add ${c.region} to copyToRegions`]
        : [],
    ),
  );
}

/** Cluster targets in another region of another architecture than the stage's: copies are of the stage's architecture only. */
export function regionalTargetsOfOtherArchitectures(
  waves: { clusters: { stackName: string; region?: string; architecture?: string }[] }[],
  home: string,
  primary: string,
): string[] {
  return waves.flatMap((w, i) =>
    w.clusters.flatMap((c, j) =>
      c.region && c.region !== home && c.architecture && c.architecture !== primary
        ? [`waves[${i}].clusters[${j}] (${c.stackName}) is ${c.architecture} in ${c.region}: copies to other regions are of baseAmiArchitecture (${primary}) only`]
        : [],
    ),
  );
}

/** The copy's tags: the image's own (Packer's), and where the copy came from. */
export function copyTags(sourceTags: Tag[], sourceAmiId: string, sourceRegion: string): Tag[] {
  const mine = new Set<string>([COPY_TAGS.copiedFrom, COPY_TAGS.copiedFromRegion]);
  return [
    ...sourceTags.filter((t) => t.Key && !mine.has(t.Key) && !t.Key.startsWith('aws:')),
    { Key: COPY_TAGS.copiedFrom, Value: sourceAmiId },
    { Key: COPY_TAGS.copiedFromRegion, Value: sourceRegion },
  ];
}

/**
 * CopyImage's ClientToken (idempotency, at most 64 ASCII characters): the same run copying to the same
 * region gets the same copy back, so a retry after a lost answer never makes a second copy.
 */
export function copyClientToken(runId: string, region: string): string {
  return boundedToken(`${runId}/${region}`, 64);
}

/** Where a copy stands, from its EC2 state. */
export function copyProgress(state: string | undefined): 'available' | 'pending' | 'failed' {
  if (state === 'available') return 'available';
  if (state === 'pending' || state === undefined) return 'pending';
  return 'failed';
}
