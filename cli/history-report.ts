import type { PromotionRecord, RefusedApproval } from '../functions/lib/contracts';
import type { ParameterVersion } from '../functions/lib/decisions/history';
import type { Style } from './style';
import { executionNameOf, table } from './text';
import { formatTime } from './time';

/** One promotion, from one version of the `ami/current/record` parameter; `history --json` prints these. */
export interface Promotion {
  version: number;
  promotedAt?: string;
  amiId?: string;
  previousAmiId?: string;
  baseAmiId?: string;
  run?: string;
  executionArn?: string;
  reason?: PromotionRecord['reason'];
  clusters: string[];
  /** Who started the run that promoted (trigger and requestedBy) and why (its reason). */
  trigger?: string;
  requestedBy?: string | null;
  requestReason?: string | null;
  /** Who approved which wave of the run that promoted (waves with requireApproval). */
  approvals: { wave: string; by: string | null; reason: string | null; at: string }[];
  /** The version's value is not a promotion record (edited by hand?); shown, not interpreted. */
  unreadable?: string;
}

/** Promotions newest first. Every promotion writes a new version, so the history is the audit trail. */
export function promotionsFrom(versions: ParameterVersion[]): Promotion[] {
  return [...versions]
    .sort((a, b) => b.version - a.version)
    .map((v) => {
      let record: Partial<PromotionRecord> | undefined;
      try {
        const parsed: unknown = JSON.parse(v.value);
        if (parsed !== null && typeof parsed === 'object' && typeof (parsed as PromotionRecord).amiId === 'string') {
          record = parsed as PromotionRecord;
        }
      } catch {
        // falls through to unreadable
      }
      if (!record) return { version: v.version, promotedAt: v.modifiedAt?.toISOString(), clusters: [], approvals: [], unreadable: v.value.slice(0, 80) };
      return {
        version: v.version,
        promotedAt: record.promotedAt ?? v.modifiedAt?.toISOString(),
        amiId: record.amiId,
        previousAmiId: record.previousAmiId,
        baseAmiId: record.baseAmiId,
        run: record.executionArn ? executionNameOf(record.executionArn) : undefined,
        executionArn: record.executionArn,
        reason: record.reason,
        clusters: Array.isArray(record.clusters) ? record.clusters : [],
        trigger: record.trigger,
        requestedBy: record.requestedBy,
        requestReason: record.requestReason,
        approvals: Array.isArray(record.approvals) ? record.approvals : [],
      };
    });
}

/** Refused approvals newest first, from the versions of `approvals/refused`; unreadable versions are skipped. */
export function refusalsFrom(versions: ParameterVersion[]): RefusedApproval[] {
  return [...versions]
    .sort((a, b) => b.version - a.version)
    .flatMap((v) => {
      try {
        const parsed = JSON.parse(v.value) as RefusedApproval;
        return parsed && typeof parsed.wave === 'string' && typeof parsed.executionArn === 'string' ? [parsed] : [];
      } catch {
        return [];
      }
    });
}

export function formatRefusals(refusals: RefusedApproval[], style: Style): string {
  if (refusals.length === 0) return '';
  const header = ['REFUSED', 'WAVE', 'AMI', 'RUN', 'DECISION', 'BY', 'WHY'].map((h) => style.dim(h));
  const rows = refusals.map((r) => [
    formatTime(r.at),
    r.wave,
    r.amiId || '-',
    executionNameOf(r.executionArn),
    r.decision === 'TIMED_OUT' ? style.yellow('timed out') : style.red('rejected'),
    r.by ?? '-',
    r.reason ?? '-',
  ]);
  return ['Waves not approved', ...table([header, ...rows])].join('\n');
}

export function formatHistory(promotions: Promotion[], parameter: string, style: Style): string {
  if (promotions.length === 0) return `No promotion yet: ${parameter} has no history.`;
  const header = ['PROMOTED', 'AMI', 'BASE', 'RUN', 'KIND', 'STARTED BY', 'WHY', 'APPROVED BY', 'REPLACED', 'CLUSTERS'].map((h) => style.dim(h));
  const short = (text: string | null | undefined, limit: number) => (!text ? '-' : text.length <= limit ? text : `${text.slice(0, limit - 3)}...`);
  const rows = promotions.map((p) =>
    p.unreadable !== undefined
      ? [formatTime(p.promotedAt), style.yellow(`version ${p.version} is not a promotion record: ${p.unreadable}`)]
      : [
          formatTime(p.promotedAt),
          style.bold(p.amiId ?? '-'),
          p.baseAmiId ?? '-',
          p.run ?? '-',
          p.reason === 'rollback' ? style.yellow('rollback') : (p.reason ?? '-'),
          p.trigger ? `${p.trigger}: ${short(p.requestedBy, 40)}` : '-',
          short(p.requestReason, 40),
          p.approvals.length ? p.approvals.map((a) => `${a.wave}: ${short(a.by, 40)}`).join('; ') : '-',
          p.previousAmiId ?? '-',
          p.clusters.join(', ') || '-',
        ],
  );
  return table([header, ...rows]).join('\n');
}
