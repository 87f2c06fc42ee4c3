import type { RetentionStatus } from '../contracts';
import { describeReasons, type RetentionPlan, type StageImage } from './retention';

/** What one retention pass did (or, in report mode, would do). */
export interface RetentionOutcome {
  status: RetentionStatus;
  plan: RetentionPlan;
  /** Per deregistered image, the snapshots deleted with it and any EC2 kept. */
  deregistered: { imageId: string; snapshotsDeleted: string[]; snapshotsKept: { snapshotId: string; reason: string }[] }[];
  deprecated: string[];
  terminated: string[];
  /** Orphan snapshots of the stage deleted (plan.deleteSnapshots that went). */
  snapshotsDeleted?: string[];
  /** Temporary security groups and key pairs of bakes that are over, deleted (plan.deleteBakeResources that went). */
  bakeResourcesDeleted?: string[];
  /** Changes that failed, one line each (`deregister ami-...: UnauthorizedOperation ...`). */
  failures: string[];
  /** Changes that failed without harm (a deprecation EC2 refused), one line each. */
  warnings: string[];
  untagged: StageImage[];
  notes: string[];
  /** Set when the whole pass failed before deciding. */
  error?: string;
}

export interface RetentionMessage {
  subject: string;
  message: string;
  attributes: { status: RetentionStatus; stage: string; step: 'retention' };
}

const SUBJECT_LIMIT = 99;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function imageLine(image: StageImage): string {
  return `${image.imageId} ${image.name ?? ''} (${image.architecture}, created ${image.createdAt.toISOString().slice(0, 10)}, ${image.sizeGiB} GiB)`.replace('  ', ' ');
}

/** Whether a pass is worth a message: it changed something, would have (report mode), or failed. */
export function worthTelling(outcome: RetentionOutcome): boolean {
  if (outcome.status === 'FAILED') return true;
  const { plan } = outcome;
  return plan.deregister.length > 0 || plan.terminate.length > 0 || plan.deleteSnapshots.length > 0 || plan.deleteBakeResources.length > 0;
}

/** What the headline and the lists count: the plan when reporting, what was done otherwise. */
function counted(outcome: RetentionOutcome) {
  const { plan } = outcome;
  if (outcome.status === 'WOULD_CLEAN_UP') {
    return { images: plan.deregister, instances: plan.terminate.map((t) => t.instanceId), snapshots: plan.deleteSnapshots, bakeResources: plan.deleteBakeResources };
  }
  const done = new Set(outcome.deregistered.map((d) => d.imageId));
  const orphans = new Set(outcome.snapshotsDeleted ?? []);
  return {
    images: plan.deregister.filter((r) => done.has(r.image.imageId)),
    instances: outcome.terminated,
    snapshots: plan.deleteSnapshots.filter((s) => orphans.has(s.snapshotId)),
    bakeResources: plan.deleteBakeResources.filter((r) => (outcome.bakeResourcesDeleted ?? []).includes(r.id)),
  };
}

/**
 * One message for a pass that changed something in several regions (copyToRegions): the regions'
 * messages one after the other, under the subject of the first, FAILED when any region failed.
 */
export function combinedRetentionMessage(messages: (RetentionMessage & { region: string })[]): RetentionMessage {
  const [first] = messages;
  if (!first) throw new Error('combinedRetentionMessage needs at least one message');
  if (messages.length === 1) return first;
  const failed = messages.some((m) => m.attributes.status === 'FAILED');
  const status = failed ? 'FAILED' : first.attributes.status;
  const others = messages.length - 1;
  const subject = `${first.subject.replace(/\] [A-Z_ ]+: /, `] ${status.replace(/_/g, ' ')}: `)} (and ${others} more region${others === 1 ? '' : 's'})`;
  return {
    subject: subject.length > SUBJECT_LIMIT ? `${subject.slice(0, SUBJECT_LIMIT - 3)}...` : subject,
    message: messages.map((m) => `=== ${m.region} ===\n${m.message}`).join('\n'),
    attributes: { ...first.attributes, status },
  };
}

/** The one message ops get from a retention pass: what went, why the rest stayed, what failed. */
export function retentionMessage(context: { serviceName: string; stage: string; region: string }, outcome: RetentionOutcome): RetentionMessage {
  const { plan } = outcome;
  const report = outcome.status === 'WOULD_CLEAN_UP';
  const count = counted(outcome);
  const freed = count.images.reduce((sum, r) => sum + r.image.sizeGiB, 0) + count.snapshots.reduce((sum, s) => sum + s.sizeGiB, 0);
  const headline =
    outcome.status === 'FAILED' && outcome.error
      ? 'image retention failed'
      : `image retention ${report ? 'would deregister' : 'deregistered'} ${plural(count.images.length, 'image')} (${freed} GiB of snapshots)` +
        (count.instances.length ? `, ${report ? 'would terminate' : 'terminated'} ${plural(count.instances.length, 'build instance')}` : '') +
        (count.snapshots.length ? `, ${report ? 'would delete' : 'deleted'} ${plural(count.snapshots.length, 'orphan snapshot')}` : '') +
        (count.bakeResources.length ? `, ${report ? 'would delete' : 'deleted'} ${plural(count.bakeResources.length, 'bake leftover')}` : '') +
        (outcome.failures.length ? `, ${plural(outcome.failures.length, 'change')} failed` : '');
  const lines: string[] = [`${context.serviceName} ${context.stage} (${context.region}): ${headline}.`, ''];
  if (outcome.error) lines.push(`Error: ${outcome.error}`, 'Nothing was deleted after the error; the next pass tries again.', '');
  if (outcome.failures.length) lines.push('Failed (the next pass tries again):', ...outcome.failures.map((f) => `  - ${f}`), '');
  if (outcome.warnings.length) lines.push('Not done (harmless; the next pass tries again):', ...outcome.warnings.map((w) => `  - ${w}`), '');
  if (count.images.length) {
    lines.push(report ? 'Would deregister, with their snapshots (imageRetention is report):' : 'Deregistered, with their snapshots:');
    for (const removed of count.images) {
      const done = outcome.deregistered.find((d) => d.imageId === removed.image.imageId);
      lines.push(`  - ${imageLine(removed.image)}: ${removed.why}`);
      if (done?.snapshotsDeleted.length) lines.push(`      snapshots deleted: ${done.snapshotsDeleted.join(', ')}`);
      for (const kept of done?.snapshotsKept ?? []) lines.push(`      snapshot ${kept.snapshotId} kept: ${kept.reason}`);
    }
    lines.push('');
  }
  if (count.snapshots.length) {
    lines.push(report ? 'Would delete (snapshots of images already gone):' : 'Deleted (snapshots of images already gone):');
    lines.push(...count.snapshots.map((sn) => `  - ${sn.snapshotId} (${sn.sizeGiB} GiB): ${sn.why}`), '');
  }
  if (count.instances.length) {
    lines.push(report ? 'Would terminate (left behind by a stopped bake):' : 'Terminated (left behind by a stopped bake):');
    lines.push(...plan.terminate.filter((t) => count.instances.includes(t.instanceId)).map((t) => `  - ${t.instanceId}: ${t.why}`), '');
  }
  if (count.bakeResources.length) {
    lines.push(report ? 'Would delete (left behind by a stopped bake):' : 'Deleted (left behind by a stopped bake):');
    lines.push(...count.bakeResources.map((r) => `  - ${r.kind} ${r.id}: ${r.why}`), '');
  }
  if (plan.keep.length) {
    lines.push('Kept:');
    for (const kept of plan.keep) {
      const deprecated = outcome.deprecated.includes(kept.image.imageId) ? ' [deprecated now]' : '';
      lines.push(`  - ${imageLine(kept.image)}${deprecated}: ${describeReasons(kept.reasons)}`);
    }
    lines.push('');
  }
  if (outcome.untagged.length) {
    lines.push("Named like this stage's images but without its ManagedBy/PipelineStage tags (not deleted; retention may only delete tagged images):");
    lines.push(...outcome.untagged.map((i) => `  - ${imageLine(i)}`), '');
  }
  if (outcome.notes.length) lines.push('Notes:', ...outcome.notes.map((n) => `  - ${n}`), '');
  // Like the runs' subjects: `[<service> <stage>] <STATUS>: <what>`.
  const what = outcome.error ? headline : headline.replace(/^image retention /, '');
  const subject = `[${context.serviceName} ${context.stage}] ${outcome.status.replace(/_/g, ' ')}: ${what}`;
  return {
    subject: subject.length > SUBJECT_LIMIT ? `${subject.slice(0, SUBJECT_LIMIT - 3)}...` : subject,
    message: lines.join('\n'),
    attributes: { status: outcome.status, stage: context.stage, step: 'retention' },
  };
}
