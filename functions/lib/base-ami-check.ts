import type { RecommendedBaseAmi } from './ami';
import { executionName } from './executions';
import type { ExecutionSummary } from './executions';

export type BaseAmiDecision =
  | { action: 'none'; reason: 'up-to-date'; baseAmiId: string }
  | { action: 'none'; reason: 'run-in-flight'; baseAmiId: string; runningExecutionArn: string }
  | {
      action: 'start';
      baseAmiId: string;
      previousBaseAmiId?: string;
      executionName: string;
      input: { trigger: 'base-ami'; sourceAmi: string; reason: string };
    };

/**
 * Should a new base AMI start a run? Only when it differs from the base of the current image.
 * The execution name is derived from the AMI id, so Step Functions itself refuses a second run
 * for the same base (names are unique per state machine for 90 days). While another run is in
 * flight nothing starts: a skipped run would use up that name and the new base would wait a week.
 */
export function decideBaseAmiCheck(
  recommended: RecommendedBaseAmi,
  currentBaseAmiId: string | undefined,
  running: ExecutionSummary[],
): BaseAmiDecision {
  const baseAmiId = recommended.imageId;
  if (baseAmiId === currentBaseAmiId) return { action: 'none', reason: 'up-to-date', baseAmiId };
  const inFlight = running[0];
  if (inFlight) {
    return { action: 'none', reason: 'run-in-flight', baseAmiId, runningExecutionArn: inFlight.executionArn };
  }
  return {
    action: 'start',
    baseAmiId,
    previousBaseAmiId: currentBaseAmiId,
    executionName: executionName('base-ami', baseAmiId),
    input: {
      trigger: 'base-ami',
      sourceAmi: baseAmiId,
      reason: `new ECS-optimized base AMI ${baseAmiId}${recommended.imageName ? ` (${recommended.imageName})` : ''}`,
    },
  };
}
