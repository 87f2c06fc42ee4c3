import { confirmedStageImage, type BaseAmiArchitecture, type ClusterRecord, type ClusterTarget, type PromotionRecord } from '../contracts';

/**
 * What `ami/current` may say, and where a rollback goes, decided from the per-cluster records.
 * `ami/current` is the image every configured cluster confirmed: no run changes it otherwise.
 */

export interface ClusterBehind {
  stackName: string;
  clusterName: string;
  /** The image the cluster last confirmed; undefined when it never confirmed one. */
  amiId?: string;
}

export type PromotionDecision = { promote: true } | { promote: false; behind: ClusterBehind[] };

/** Promote `amiId` only if every configured cluster's record names it. */
export function decidePromotion(
  configured: ClusterTarget[],
  records: Map<string, ClusterRecord | undefined>,
  amiId: string,
): PromotionDecision {
  const behind = configured
    .filter((t) => confirmedStageImage(records.get(t.stackName)) !== amiId)
    .map((t) => ({ stackName: t.stackName, clusterName: t.clusterName, amiId: records.get(t.stackName)?.amiId }));
  return behind.length === 0 ? { promote: true } : { promote: false, behind };
}

/**
 * The image each other architecture's clusters confirmed as the one standing for `amiId` (their
 * records' copyOf), by architecture: what `ami/<architecture>/current` names once `amiId` is promoted.
 */
export function otherArchitectureImages(
  configured: ClusterTarget[],
  records: Map<string, ClusterRecord | undefined>,
  amiId: string,
): Map<BaseAmiArchitecture, string> {
  const found = new Map<BaseAmiArchitecture, string>();
  for (const t of configured) {
    const record = records.get(t.stackName);
    if (!t.architecture || t.region || !record || record.copyOf !== amiId || record.amiId === amiId) continue;
    if (!found.has(t.architecture)) found.set(t.architecture, record.amiId);
  }
  return found;
}

export type RollbackChoice =
  | { amiId: string; why: string }
  | { amiId?: undefined; why: string };

/** What a rollback can choose from: every value `ami/current` had, and the images rollbacks left. */
export interface PromotionHistory {
  /** The values of `ami/current`, newest first (the parameter's history). */
  promoted: string[];
  /** The records of `ami/current/record`, newest first: a rollback's record names the image it left. */
  records: PromotionRecord[];
}

/**
 * The image `rollback {}` puts back when no image is named:
 * - when some configured cluster is not confirmed on `ami/current` (a run went part of the way and
 *   stopped), `ami/current` itself: the last image every cluster confirmed;
 * - otherwise the newest earlier promoted image, skipping the current one and every image a
 *   rollback already moved the fleet away from, so two rollbacks in a row never swing back.
 */
export function chooseRollbackTarget(
  currentAmiId: string | undefined,
  history: PromotionHistory,
  configured: ClusterTarget[],
  records: Map<string, ClusterRecord | undefined>,
): RollbackChoice {
  if (currentAmiId) {
    const off = configured.filter((t) => confirmedStageImage(records.get(t.stackName)) !== currentAmiId);
    if (off.length > 0 && off.some((t) => records.get(t.stackName) !== undefined)) {
      return {
        amiId: currentAmiId,
        why: `${off.map((t) => t.stackName).join(', ')} ${off.length === 1 ? 'is' : 'are'} not on the current image ${currentAmiId}: putting every cluster back on it`,
      };
    }
  }
  // A rollback onto the image that was already current (every cluster put back on it) left nothing.
  const rolledAwayFrom = new Set(
    history.records.filter((p) => p.reason === 'rollback' && p.previousAmiId && p.previousAmiId !== p.amiId).map((p) => p.previousAmiId!),
  );
  const earlier = history.promoted.find((amiId) => amiId !== currentAmiId && !rolledAwayFrom.has(amiId));
  if (!earlier) {
    return { why: `no earlier promoted image to roll back to${rolledAwayFrom.size ? ` (skipping ${[...rolledAwayFrom].join(', ')}, rolled away from before)` : ''}` };
  }
  return { amiId: earlier, why: `the newest image promoted before ${currentAmiId ?? 'the current one'} that no rollback moved away from` };
}
