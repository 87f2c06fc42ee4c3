import { SSMClient } from '@aws-sdk/client-ssm';
import { readParameter, writeParameter } from '../lib/aws/parameters';
import { auditFields, type RefusedApproval, type Wave } from '../lib/contracts';
import type { RunAudit } from '../lib/contracts/plan';
import { createLogger, lambdaHandler, stageParameters } from '../lib/handler';
import { readAnswer, timedOutAnswer } from '../lib/decisions/gates';
import {
  assessNotApproved,
  assessSoakRollback,
  assessWave,
  type ClusterBranchOutput,
  type RolloutState,
} from '../lib/decisions/rollout';

const ssm = new SSMClient({});
const logger = createLogger('assess-wave');

/**
 * What the state machine asks after a wave (`kind` absent: the wave rolled), after a wave's approval
 * was not given, and after a failed soak put the wave's clusters back.
 */
export type AssessWaveEvent =
  | {
      kind?: 'rolled';
      executionArn: string;
      rollout: RolloutState;
      wave: Wave;
      results: ClusterBranchOutput[];
      totalWaves: number;
      /** The answer to the wave's approval, raw as it reached the task (null: the wave needed none). */
      approval?: unknown;
    }
  | {
      kind: 'not-approved';
      executionArn: string;
      rollout: RolloutState;
      wave: Wave;
      approval: unknown;
      timeoutSeconds: number;
      /** The image the wave would have rolled, and who started the run: the refusal's record keeps them. */
      amiId?: string;
      audit?: RunAudit;
    }
  | { kind: 'soak-rolled-back'; executionArn: string; rollout: RolloutState; results: ClusterBranchOutput[] };

export function assess(event: AssessWaveEvent, now: Date): RolloutState {
  switch (event.kind) {
    case 'not-approved': {
      // "Nobody answered the approval in time" sets exactly {decision: TIMED_OUT}; anything else is an answer.
      const raw = event.approval as Record<string, unknown> | null;
      const timedOut = raw?.decision === 'TIMED_OUT' && Object.keys(raw).length === 1;
      const answer = timedOut ? timedOutAnswer(event.wave.name, event.timeoutSeconds, now) : readAnswer(event.approval, event.wave.name, now);
      return assessNotApproved(event.rollout, event.wave, answer.decision === 'APPROVED' ? { ...answer, decision: 'REJECTED' } : answer);
    }
    case 'soak-rolled-back':
      return assessSoakRollback(event.rollout, event.results, now);
    default: {
      const approval = event.approval === undefined || event.approval === null ? null : readAnswer(event.approval, event.wave.name, now);
      return assessWave(event.rollout, event.wave, event.results, event.totalWaves, now, approval);
    }
  }
}

/**
 * A refusal is kept in SSM (`approvals/refused`), whose history outlives the run's: approvals live in
 * the promotion and cluster records, refusals change neither. A retry finds its own record and writes
 * nothing twice.
 */
async function recordRefusal(event: Extract<AssessWaveEvent, { kind: 'not-approved' }>, rollout: RolloutState): Promise<void> {
  const answer = rollout.waves[rollout.waves.length - 1]?.approval;
  if (!answer || answer.decision === 'APPROVED') return;
  const names = stageParameters();
  const record: RefusedApproval = {
    executionArn: event.executionArn,
    wave: event.wave.name,
    amiId: event.amiId ?? '',
    decision: answer.decision,
    by: answer.by,
    reason: answer.reason,
    at: answer.at,
    ...auditFields(event.audit),
  };
  const existing = await readParameter(ssm, names.refusedApproval);
  const same = existing && (JSON.parse(existing) as RefusedApproval).executionArn === record.executionArn;
  if (same) return;
  await writeParameter(ssm, names.refusedApproval, JSON.stringify(record), { description: `Wave ${record.wave} not approved (${record.decision})` });
  logger.info('wave not approved', { ...record });
}

export const handler = lambdaHandler(logger, async (event: AssessWaveEvent): Promise<RolloutState> => {
  const rollout = assess(event, new Date());
  if (event.kind === 'not-approved') await recordRefusal(event, rollout);
  return rollout;
});
