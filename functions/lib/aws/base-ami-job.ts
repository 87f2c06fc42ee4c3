import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { RecommendedBaseAmi } from '../contracts/ami';
import { recommendedBaseAmi } from './aws-lookups';
import { decideBaseAmiCheck, type BaseAmiCheckState } from '../decisions/base-ami-check';
import { parameterNames, recommendedBaseAmiParameter, type BaseAmiArchitecture, type BaseAmiAttempts } from '../contracts';
import { isAwsError } from '../contracts/errors';
import { executionArnFor, executionNameOf } from '../contracts/executions';
import { readJsonParameter, readParameter, writeParameter } from './parameters';
import { readLock } from './run-ledger';

export interface BaseAmiCheckResult {
  /** started: a run was started; already-started: that run name exists; the rest: nothing started. */
  outcome: 'started' | 'already-started' | 'up-to-date' | 'run-in-flight' | 'retry-later' | 'gave-up' | 'not-approved';
  baseAmiId: string;
  baseAmiName?: string;
  currentBaseAmiId?: string;
  executionArn?: string;
  /** Runs started for this base so far, this one included. */
  attempts?: number;
  message: string;
}

/** The status of an execution, or undefined when Step Functions no longer knows it. */
export async function executionStatus(sfn: SFNClient, executionArn: string): Promise<string | undefined> {
  return (await executionEnd(sfn, executionArn))?.status;
}

/** An execution's status and, once it failed, its error (the Fail state's Error). */
export async function executionEnd(sfn: SFNClient, executionArn: string): Promise<{ status?: string; error?: string } | undefined> {
  try {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return { status: out.status, error: out.error };
  } catch (error) {
    if (isAwsError(error, 'ExecutionDoesNotExist')) return undefined;
    throw error;
  }
}

export interface BaseAmiCheckSettings {
  stateMachineArn: string;
  parameterPrefix: string;
  architecture: BaseAmiArchitecture;
  runLedgerTable: string;
  maxAttempts: number;
  /** Recorded as the run's requestedBy; the scheduled check leaves it unset. */
  requestedBy?: string;
}

/**
 * Everything the base-AMI decision reads, from AWS: the recommended base, the current base, the
 * attempts, the lock holder and the last attempt's run. Shared with `ami-pipeline status`, so both
 * say the same about whether a rebuild is due.
 */
export async function baseAmiCheckState(
  clients: { ssm: SSMClient; sfn: SFNClient; ddb: DynamoDBClient },
  settings: BaseAmiCheckSettings,
  now: Date,
  recommended?: RecommendedBaseAmi,
): Promise<BaseAmiCheckState> {
  const { ssm, sfn, ddb } = clients;
  const names = parameterNames(settings.parameterPrefix);
  recommended ??= await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(settings.architecture));
  const currentBaseAmiId = await readParameter(ssm, names.currentBaseAmi);
  const attempts = await readJsonParameter<BaseAmiAttempts>(ssm, names.baseAmiAttempts);
  const lock = await readLock(ddb, settings.runLedgerTable);
  const holderStatus = lock ? await executionStatus(sfn, lock.ownerExecutionArn) : undefined;
  const last =
    attempts?.baseAmiId === recommended.imageId && attempts.lastExecutionArn !== lock?.ownerExecutionArn
      ? await executionEnd(sfn, attempts.lastExecutionArn)
      : { status: holderStatus };
  const lastStatus = last?.status;
  const alive = (status: string | undefined) => status === 'RUNNING' || status === 'PENDING_REDRIVE';
  return {
    recommended,
    currentBaseAmiId,
    attempts,
    holder: lock ? { executionArn: lock.ownerExecutionArn, alive: alive(holderStatus) } : undefined,
    lastAttemptAlive: attempts?.baseAmiId === recommended.imageId && alive(lastStatus),
    // The Fail state "Stopped: a wave was not approved" (statemachine/pipeline.asl.json).
    lastAttemptNotApproved: attempts?.baseAmiId === recommended.imageId && last?.status === 'FAILED' && last.error === 'NotApproved',
    now,
    maxAttempts: settings.maxAttempts,
    requestedBy: settings.requestedBy,
  };
}

/**
 * The base-AMI check, shared by the scheduled function and `ami-pipeline check`: compare AWS's
 * recommended ECS-optimized AMI with the current base and the runs already tried, and start a run
 * when the decision says so.
 */
export async function runBaseAmiCheck(
  clients: { ssm: SSMClient; sfn: SFNClient; ddb: DynamoDBClient },
  settings: BaseAmiCheckSettings,
  now: Date = new Date(),
): Promise<BaseAmiCheckResult> {
  const { ssm, sfn } = clients;
  const { stateMachineArn } = settings;
  const names = parameterNames(settings.parameterPrefix);
  const state = await baseAmiCheckState(clients, settings, now);
  const { recommended, currentBaseAmiId } = state;
  const decision = decideBaseAmiCheck(state);
  const common = { baseAmiId: recommended.imageId, baseAmiName: recommended.imageName, currentBaseAmiId };

  if (decision.action === 'none') {
    switch (decision.reason) {
      case 'up-to-date':
        return { ...common, outcome: 'up-to-date', message: `no new base AMI: the current image is built on ${decision.baseAmiId}` };
      case 'run-in-flight':
        return {
          ...common,
          outcome: 'run-in-flight',
          executionArn: decision.runningExecutionArn,
          message: `new base AMI ${decision.baseAmiId} found, but run ${decision.runningExecutionArn} is in flight; a later check decides again`,
        };
      case 'retry-later':
        return {
          ...common,
          outcome: 'retry-later',
          executionArn: decision.lastExecutionArn,
          attempts: decision.attempts,
          message: `${decision.attempts} run(s) for base AMI ${decision.baseAmiId} did not promote it; the next one starts after ${decision.retryAt}`,
        };
      case 'not-approved':
        return {
          ...common,
          outcome: 'not-approved',
          executionArn: decision.lastExecutionArn,
          message: `run ${executionNameOf(decision.lastExecutionArn)} for base AMI ${decision.baseAmiId} was not approved; the check does not ask again for this base (the next weekly run, a newer base, or ami-pipeline run does)`,
        };
      case 'gave-up':
        return {
          ...common,
          outcome: 'gave-up',
          executionArn: decision.lastExecutionArn,
          attempts: decision.attempts,
          message: `${decision.attempts} run(s) for base AMI ${decision.baseAmiId} did not promote it; the check starts no more for this base (read the last run's notification, fix the cause, then start a run: ami-pipeline run)`,
        };
    }
  }
  try {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: decision.executionName, input: JSON.stringify(decision.input) }),
    );
    const record: BaseAmiAttempts = {
      baseAmiId: decision.baseAmiId,
      attempts: decision.attempt,
      lastStartedAt: now.toISOString(),
      lastExecutionArn: started.executionArn ?? executionArnFor(stateMachineArn, decision.executionName),
    };
    await writeParameter(ssm, names.baseAmiAttempts, JSON.stringify(record), {
      description: `Runs the base-AMI check started for ${decision.baseAmiId}`,
    });
    return {
      ...common,
      outcome: 'started',
      executionArn: record.lastExecutionArn,
      attempts: decision.attempt,
      message: `new base AMI ${decision.baseAmiId} (current base ${currentBaseAmiId ?? 'none'}); started run ${decision.executionName}${decision.attempt > 1 ? ` (attempt ${decision.attempt} of ${settings.maxAttempts})` : ''}`,
    };
  } catch (error) {
    if (!isAwsError(error, 'ExecutionAlreadyExists')) throw error;
    return {
      ...common,
      outcome: 'already-started',
      executionArn: executionArnFor(stateMachineArn, decision.executionName),
      message: `run ${decision.executionName} for base AMI ${decision.baseAmiId} was already started; not starting another`,
    };
  }
}
