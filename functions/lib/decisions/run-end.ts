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

/** Where a configured stack stands when the run has ended: its image parameter and its status. */
export interface StackNow {
  image?: string;
  status?: string;
}

/** A stack left failed (UPDATE_ROLLBACK_FAILED and the like) or still changing: only a person ends either. */
function unsettled(status: string | undefined): boolean {
  return status !== undefined && (status.endsWith('_FAILED') || status.endsWith('_IN_PROGRESS'));
}

/**
 * Clusters a person must check after a run that could not send its own message: the stack no
 * longer names the image the cluster last confirmed, or it names it but was left failed or still
 * changing (a rollback that failed puts the old image back in the parameter and leaves the stack
 * UPDATE_ROLLBACK_FAILED). A cluster the pipeline never confirmed has no record to compare with; a
 * run adopts a cluster (writes its record) before it changes its stack, so such a cluster was not
 * changed.
 */
export function clustersToCheck(
  targets: ClusterTarget[],
  stacks: Map<string, StackNow | undefined>,
  records: Map<string, ClusterRecord | undefined>,
): { stackName: string; stackImage?: string; stackStatus?: string; confirmed?: string }[] {
  return targets.flatMap((t) => {
    const confirmed = records.get(t.stackName)?.amiId;
    const stack = stacks.get(t.stackName);
    const check = confirmed !== undefined && (stack?.image !== confirmed || unsettled(stack?.status));
    return check ? [{ stackName: t.stackName, stackImage: stack?.image, stackStatus: stack?.status, confirmed }] : [];
  });
}

const CAUSE_LIMIT = 600;

export function composeRunEndAlert(
  change: ExecutionStatusChange,
  context: { serviceName: string; stage: string; off: ReturnType<typeof clustersToCheck> | undefined; lockReleased: boolean },
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
    lines.push('  Every configured stack names the image its cluster last confirmed, and none is failed or mid-update.');
  } else {
    lines.push('  ACTION REQUIRED: check these stacks. Each is off the image its cluster last confirmed, mid-update,');
    lines.push('  or left failed (ContinueUpdateRollback for UPDATE_ROLLBACK_FAILED):');
    for (const o of context.off) {
      const state = o.stackStatus === undefined ? '' : ` (${o.stackStatus})`;
      lines.push(`    ${o.stackName}${state}: stack has ${o.stackImage ?? 'no image'}, last confirmed ${o.confirmed ?? 'none'}`);
    }
  }
  lines.push('', `Fleet lock: ${context.lockReleased ? 'released (this run held it)' : 'not held by this run'}`);
  lines.push(`ami/current was not changed by the pipeline after the point of failure; see the execution:`);
  lines.push(`  ${executionConsoleUrl(change.executionArn)}`);
  return { subject, message: `${lines.join('\n')}\n`, attributes: { status: change.status, stage: context.stage, step: 'unknown' } };
}
