import type { ClusterRecord, ClusterTarget } from '../contracts';
import { isChildExecution } from './fleet-lock';
import { executionConsoleUrl, executionNameOf } from '../contracts/executions';

/**
 * What to do when a run has ended, however it ended: EventBridge reports every end, at least once.
 * Most runs released the fleet and notified as their last steps; this catches those that could not:
 * stopped, timed out, failed with an error no Catch can take (States.DataLimitExceeded,
 * States.Runtime, the history limit), after their notification failed, or whose release failed.
 */

/** The `detail` of EventBridge's "Step Functions Execution Status Change" event. */
export interface ExecutionStatusChange {
  executionArn: string;
  stateMachineArn?: string;
  name?: string;
  status: string;
  startDate?: number;
  stopDate?: number;
  error?: string | null;
  cause?: string | null;
}

export const RUN_ENDS = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export interface RunEndDecision {
  /** Not a run's end at all (a Distributed Map child, or a status that is not an end). */
  ignore: boolean;
  /** The run still holds the fleet lock: release it, or the next run must wait for a take-over. */
  release: boolean;
  /** Ops have not heard about this run: send the alert. */
  alert: boolean;
}

export function decideRunEnd(change: ExecutionStatusChange, lockOwner: string | undefined, alreadyNotified: boolean): RunEndDecision {
  if (isChildExecution(change.executionArn) || !(RUN_ENDS as readonly string[]).includes(change.status)) {
    return { ignore: true, release: false, alert: false };
  }
  return { ignore: false, release: lockOwner === change.executionArn, alert: !alreadyNotified };
}

/**
 * Clusters whose stack no longer names the image they last confirmed: what an interrupted run may
 * have left. A cluster the pipeline never confirmed has no record to compare with; a run adopts a
 * cluster (writes its record) before it changes its stack, so such a cluster was not changed.
 */
export function clustersOffTheirRecord(
  targets: ClusterTarget[],
  stackImages: Map<string, string | undefined>,
  records: Map<string, ClusterRecord | undefined>,
): { stackName: string; stackImage?: string; confirmed?: string }[] {
  return targets
    .filter((t) => records.get(t.stackName) !== undefined && stackImages.get(t.stackName) !== records.get(t.stackName)?.amiId)
    .map((t) => ({ stackName: t.stackName, stackImage: stackImages.get(t.stackName), confirmed: records.get(t.stackName)?.amiId }));
}

const CAUSE_LIMIT = 600;

export function composeRunEndAlert(
  change: ExecutionStatusChange,
  context: { serviceName: string; stage: string; off: ReturnType<typeof clustersOffTheirRecord> | undefined; lockReleased: boolean },
): { subject: string; message: string; attributes: { status: string; stage: string; step: string } } {
  const name = change.name ?? executionNameOf(change.executionArn);
  const how = { FAILED: 'failed', TIMED_OUT: 'timed out', ABORTED: 'was stopped' }[change.status] ?? change.status;
  const subject = `[${context.serviceName} ${context.stage}] ${change.status.replace('_', ' ')}: run ${name} ${how} before it could notify`.slice(0, 99);
  const cause = (change.cause ?? '').length > CAUSE_LIMIT ? `${change.cause!.slice(0, CAUSE_LIMIT)}...` : change.cause;
  const lines = [
    `Status:   ${change.status} (reported by Step Functions: the run did not send its own message)`,
    `Run:      ${name}`,
  ];
  if (change.error) lines.push(`Error:    ${change.error}${cause ? `: ${cause}` : ''}`);
  lines.push('', 'Clusters');
  if (context.off === undefined) {
    lines.push('  Could not compare the stacks with their confirmed images: check each cluster stack.');
  } else if (context.off.length === 0) {
    lines.push('  Every configured stack names the image its cluster last confirmed.');
  } else {
    lines.push('  ACTION REQUIRED: these stacks do not name the image their cluster last confirmed;');
    lines.push('  they may be mid-update or on an unconfirmed image:');
    for (const o of context.off) lines.push(`    ${o.stackName}: stack has ${o.stackImage ?? 'no image'}, last confirmed ${o.confirmed ?? 'none'}`);
  }
  lines.push('', `Fleet lock: ${context.lockReleased ? 'released (this run held it)' : 'not held by this run'}`);
  lines.push(`ami/current was not changed by the pipeline after the point of failure; see the execution:`);
  lines.push(`  ${executionConsoleUrl(change.executionArn)}`);
  return { subject, message: `${lines.join('\n')}\n`, attributes: { status: change.status, stage: context.stage, step: 'unknown' } };
}
