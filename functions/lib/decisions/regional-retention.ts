/**
 * Retention in a region the stage copies its images to (copyToRegions). The region's own survey sees
 * the copies there, its ami/latest, the stacks, launch templates and instances there; what only the
 * stage's region knows (ami/current and its history, the cluster records, the runs in flight) is
 * carried over through each copy's CopiedFrom tag. The same decideRetention then decides, with the
 * same rules: a copy is kept while its source is current, promoted recently, replaced by current or
 * named by a run in flight, and while anything in its region uses it.
 */
import type { ClusterTarget } from '../contracts';
import type { ImageUse } from './retention';

/** The part of a survey this mapping reads and writes (image-inventory's ImageSurvey has the same fields). */
export interface SurveyView {
  images: { imageId: string; copiedFrom?: string }[];
  promotedNewestFirst: string[];
  uses: ImageUse[];
  runsInFlight: string[];
}

/** Stage-region uses that keep a copy of the image they name (the copy is rolled back to, or rolled, with it). */
const CARRIED: ImageUse['kind'][] = ['current', 'replaced-by-current', 'run-in-flight'];

export function regionalSurvey<T extends SurveyView>(home: SurveyView, regional: T, regionalTargets: ClusterTarget[]): T {
  const copyOf = new Map<string, string>();
  for (const image of regional.images) if (image.copiedFrom) copyOf.set(image.copiedFrom, image.imageId);
  const stacks = new Set(regionalTargets.map((t) => t.stackName));
  const carried: ImageUse[] = home.uses.flatMap((use) => {
    if (use.kind === 'cluster-confirmed') {
      // A regional cluster's record (kept in the stage's region) names the copy it confirmed.
      return use.stackName && stacks.has(use.stackName) ? [use] : [];
    }
    const copy = CARRIED.includes(use.kind) ? copyOf.get(use.imageId) : undefined;
    return copy ? [{ ...use, imageId: copy, detail: `${use.detail}, whose copy this is` }] : [];
  });
  return {
    ...regional,
    promotedNewestFirst: home.promotedNewestFirst.flatMap((id) => (copyOf.has(id) ? [copyOf.get(id)!] : [])),
    uses: [...regional.uses.filter((u) => u.kind !== 'cluster-confirmed'), ...carried],
    runsInFlight: home.runsInFlight,
  };
}
