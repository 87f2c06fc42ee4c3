import type { Wave } from '../lib/contracts';
import { createLogger, lambdaHandler } from '../lib/handler';
import { readAnswer, timedOutAnswer } from '../lib/decisions/gates';
import {
  assessNotApproved,
  assessSoakRollback,
  assessWave,
  type ClusterBranchOutput,
  type RolloutState,
} from '../lib/decisions/rollout';

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
  | { kind: 'not-approved'; executionArn: string; rollout: RolloutState; wave: Wave; approval: unknown; timeoutSeconds: number }
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

export const handler = lambdaHandler(logger, async (event: AssessWaveEvent): Promise<RolloutState> => assess(event, new Date()));
