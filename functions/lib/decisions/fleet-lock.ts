import type { FleetLock } from '../contracts';

/**
 * Who may roll the fleet. The lock itself is a conditional write in the run ledger (run-ledger.ts);
 * these are the decisions around it, kept pure.
 */

/** Step Functions execution statuses in which a run can still act on the fleet. */
const ALIVE = new Set(['RUNNING', 'PENDING_REDRIVE']);

export type LockDecision =
  /** Nobody holds the fleet: take it with a write that fails if someone else got there first. */
  | { action: 'acquire' }
  /** This run holds it already (a retried or redriven step): go on. */
  | { action: 'held' }
  /** Another run holds it and is alive: this run must not touch the fleet. */
  | { action: 'give-way'; owner: FleetLock }
  /** The holder ended without releasing (a lost release, a stopped run): take it over from exactly that holder. */
  | { action: 'take-over'; owner: FleetLock; ownerStatus: string };

/**
 * What a run does about the lock. `ownerStatus` is the holder's execution status (DescribeExecution),
 * `undefined` when the holder's execution no longer exists (history expires after 90 days).
 */
export function decideLock(current: FleetLock | undefined, executionArn: string, ownerStatus: string | undefined): LockDecision {
  if (!current) return { action: 'acquire' };
  if (current.ownerExecutionArn === executionArn) return { action: 'held' };
  if (ownerStatus !== undefined && ALIVE.has(ownerStatus)) return { action: 'give-way', owner: current };
  return { action: 'take-over', owner: current, ownerStatus: ownerStatus ?? 'gone' };
}

/**
 * Executions of a Distributed Map's child workflows carry `<machine>/<map run label>` where a run
 * has only the machine's name; they never hold the lock and their ends are not runs' ends.
 */
export function isChildExecution(executionArn: string): boolean {
  const parts = executionArn.split(':');
  return parts[5] === 'execution' && (parts[6] ?? '').includes('/');
}
