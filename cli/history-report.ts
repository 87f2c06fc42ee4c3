import type { PromotionRecord } from '../functions/lib/contracts';
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
      if (!record) return { version: v.version, promotedAt: v.modifiedAt?.toISOString(), clusters: [], unreadable: v.value.slice(0, 80) };
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
      };
    });
}

export function formatHistory(promotions: Promotion[], parameter: string, style: Style): string {
  if (promotions.length === 0) return `No promotion yet: ${parameter} has no history.`;
  const header = ['PROMOTED', 'AMI', 'BASE', 'RUN', 'KIND', 'STARTED BY', 'WHY', 'REPLACED', 'CLUSTERS'].map((h) => style.dim(h));
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
          p.previousAmiId ?? '-',
          p.clusters.join(', ') || '-',
        ],
  );
  return table([header, ...rows]).join('\n');
}
