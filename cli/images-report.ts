/** `ami-pipeline images`: the stage's images and what retention makes of each, from one survey. */
import type { ImageSurvey } from '../functions/lib/aws/image-inventory';
import type { ImageRetentionMode } from '../functions/lib/contracts';
import { decideRetention, type RetentionPolicy } from '../functions/lib/decisions/retention';
import type { Style } from './style';
import { table } from './text';

/** One image, as `images --json` prints it. */
export interface ImageRow {
  imageId: string;
  name?: string;
  architecture: string;
  createdAt: string;
  baseAmiId?: string;
  /** EC2's state (available, pending, failed). */
  state: string;
  deprecated: boolean;
  current: boolean;
  latest: boolean;
  /** Why retention keeps it; empty when it would delete it. */
  keptBecause: string[];
  /** Why retention would deregister it, or null when it keeps it. */
  wouldDelete: string | null;
  /** Retention would mark it deprecated on its next pass. */
  wouldDeprecate: boolean;
}

export interface ImagesReport {
  stage: string;
  region: string;
  policy: RetentionPolicy & { mode: ImageRetentionMode };
  images: ImageRow[];
  leftoverBuildInstances: { instanceId: string; why: string }[];
  orphanSnapshots: { snapshotId: string; why: string }[];
  leftoverBakeResources: { kind: string; id: string; why: string }[];
  /** Named like the stage's images, without its tags: never deleted by retention. */
  untagged: { imageId: string; name?: string; createdAt: string }[];
  notes: string[];
}

export function imagesReport(
  survey: ImageSurvey,
  context: { stage: string; region: string; now: Date; policy: RetentionPolicy & { mode: ImageRetentionMode } },
): ImagesReport {
  const plan = decideRetention({ now: context.now, policy: context.policy, ...survey });
  const kinds = (imageId: string, kind: string) => survey.uses.some((u) => u.imageId === imageId && u.kind === kind);
  const rows: ImageRow[] = survey.images
    .map((image) => {
      const kept = plan.keep.find((k) => k.image.imageId === image.imageId);
      const removed = plan.deregister.find((r) => r.image.imageId === image.imageId);
      return {
        imageId: image.imageId,
        name: image.name,
        architecture: image.architecture,
        createdAt: image.createdAt.toISOString(),
        baseAmiId: image.baseAmiId,
        state: image.state,
        deprecated: image.deprecated,
        current: kinds(image.imageId, 'current'),
        latest: kinds(image.imageId, 'latest'),
        keptBecause: kept?.reasons.map((r) => r.detail) ?? [],
        wouldDelete: removed?.why ?? null,
        wouldDeprecate: kept?.deprecate ?? false,
      };
    })
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return {
    stage: context.stage,
    region: context.region,
    policy: context.policy,
    images: rows,
    leftoverBuildInstances: plan.terminate.map((t) => ({ instanceId: t.instanceId, why: t.why })),
    orphanSnapshots: plan.deleteSnapshots.map((s) => ({ snapshotId: s.snapshotId, why: s.why })),
    leftoverBakeResources: plan.deleteBakeResources.map((r) => ({ kind: r.kind, id: r.id, why: r.why })),
    untagged: survey.untagged.map((i) => ({ imageId: i.imageId, name: i.name, createdAt: i.createdAt.toISOString() })),
    notes: survey.notes,
  };
}

function label(row: ImageRow, style: Style): string {
  const marks = [row.current && style.green('current'), row.latest && style.cyan('latest'), row.deprecated && style.dim('deprecated')].filter(Boolean);
  const other = row.keptBecause.filter((r) => !/\/ami\/(current|latest)$/.test(r));
  if (row.wouldDelete) return [...marks, style.yellow(`would be deleted: ${row.wouldDelete}`)].join(', ');
  return [...marks, other.length ? `kept: ${other.join('; ')}` : ''].filter(Boolean).join(', ');
}

export function formatImages(report: ImagesReport, style: Style): string {
  const { policy } = report;
  const lines = [
    style.bold(`Images of stage ${report.stage} in ${report.region}`) +
      style.dim(
        ` (retention ${policy.mode === 'report' ? 'reports only' : 'deletes'}: keeps ${policy.keepPromoted} promoted per architecture and everything in use, nothing younger than ${policy.graceDays} days)`,
      ),
  ];
  if (!report.images.length) lines.push('  none: this stage has baked no image here yet (ami-pipeline run --dry-run bakes one)');
  lines.push(
    ...table(
      report.images.map((row) => [row.imageId, row.createdAt.slice(0, 10), row.architecture, `base ${row.baseAmiId ?? '?'}`, row.state === 'available' ? '' : row.state, label(row, style)]),
      '  ',
    ),
  );
  if (report.leftoverBuildInstances.length) {
    lines.push('', 'Build instances left by stopped bakes (retention terminates them):', ...report.leftoverBuildInstances.map((i) => `  ${i.instanceId}: ${i.why}`));
  }
  if (report.orphanSnapshots.length) {
    lines.push('', 'Snapshots of images already gone (retention deletes them):', ...report.orphanSnapshots.map((s) => `  ${s.snapshotId}: ${s.why}`));
  }
  if (report.leftoverBakeResources.length) {
    lines.push('', 'Security groups and key pairs of finished bakes (retention deletes them):', ...report.leftoverBakeResources.map((r) => `  ${r.kind} ${r.id}: ${r.why}`));
  }
  if (report.untagged.length) {
    lines.push(
      '',
      "Named like this stage's images but without its ManagedBy/PipelineStage tags (retention never deletes these):",
      ...report.untagged.map((i) => `  ${i.imageId} ${i.name ?? ''} (created ${i.createdAt.slice(0, 10)})`),
    );
  }
  if (report.notes.length) lines.push('', ...report.notes.map((n) => style.dim(`note: ${n}`)));
  return lines.join('\n');
}
