import { ERROR_NAMES, PipelineError } from '../contracts/errors';

/** The parts of a CloudFormation stack description the rollout decides on. */
export interface StackView {
  stackName: string;
  status: string;
  parameters: { key: string; value?: string; resolvedValue?: string }[];
}

/** One of the stack's parameters, by key. */
export function stackParameter(stack: StackView, key: string): StackView['parameters'][number] | undefined {
  return stack.parameters.find((p) => p.key === key);
}

export type UpdateParameter =
  | { ParameterKey: string; ParameterValue: string }
  | { ParameterKey: string; UsePreviousValue: true };

export type ImageUpdatePlan =
  | { kind: 'update'; previousAmiId: string; parameters: UpdateParameter[] }
  | { kind: 'none'; previousAmiId: string };

// Statuses from which UpdateStack is accepted. Anything *_IN_PROGRESS is busy; the rest need a person.
const UPDATABLE = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
]);

export function isBusy(status: string): boolean {
  return status.endsWith('_IN_PROGRESS');
}

/**
 * Decides how to move a stack's image parameter to `amiId` without touching anything else:
 * the previous template, and every other parameter's previous value.
 */
export function planImageUpdate(stack: StackView, imageParameter: string, amiId: string): ImageUpdatePlan {
  if (isBusy(stack.status)) {
    throw new PipelineError(
      ERROR_NAMES.stackBusy,
      `stack ${stack.stackName} is busy (${stack.status}); the pipeline waits for it to settle before updating it`,
    );
  }
  if (!UPDATABLE.has(stack.status)) {
    throw new PipelineError(
      ERROR_NAMES.stackNotRollable,
      `stack ${stack.stackName} is in ${stack.status}, from which CloudFormation accepts no update; repair the stack, then run the pipeline again`,
    );
  }
  const image = stackParameter(stack, imageParameter);
  if (!image) {
    const keys = stack.parameters.map((p) => p.key).join(', ') || 'none';
    throw new PipelineError(
      ERROR_NAMES.stackNotRollable,
      `stack ${stack.stackName} has no parameter ${imageParameter} (its parameters: ${keys}); set imageParameter for this target in the waves param`,
    );
  }
  if (image.resolvedValue !== undefined) {
    throw new PipelineError(
      ERROR_NAMES.stackNotRollable,
      `parameter ${imageParameter} of stack ${stack.stackName} is an SSM-parameter type (${image.value}); the pipeline sets AMI ids directly, so give the stack a plain String/AWS::EC2::Image::Id parameter`,
    );
  }
  const previousAmiId = image.value ?? '';
  if (previousAmiId === amiId) return { kind: 'none', previousAmiId };
  return {
    kind: 'update',
    previousAmiId,
    parameters: stack.parameters.map((p) =>
      p.key === imageParameter
        ? { ParameterKey: p.key, ParameterValue: amiId }
        : { ParameterKey: p.key, UsePreviousValue: true as const },
    ),
  };
}

export type UpdateProgress = 'in-progress' | 'complete' | 'rolled-back' | 'rollback-failed' | 'unexpected';

/** Where an update the pipeline started stands, from the stack's status. */
export function updateProgress(status: string): UpdateProgress {
  switch (status) {
    case 'UPDATE_COMPLETE':
      return 'complete';
    case 'UPDATE_IN_PROGRESS':
    case 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS':
    case 'UPDATE_ROLLBACK_IN_PROGRESS':
    case 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS':
      return 'in-progress';
    case 'UPDATE_ROLLBACK_COMPLETE':
      return 'rolled-back';
    // UPDATE_FAILED only happens with rollback disabled: the stack is half-updated, like a failed rollback.
    case 'UPDATE_ROLLBACK_FAILED':
    case 'UPDATE_FAILED':
      return 'rollback-failed';
    default:
      return 'unexpected';
  }
}

export interface StackEventView {
  timestamp: Date;
  logicalResourceId?: string;
  resourceStatus?: string;
  resourceStatusReason?: string;
  /** The ClientRequestToken of the operation that caused the event. */
  clientRequestToken?: string;
}

/**
 * Did CloudFormation accept an update sent with `token`? Its events carry the token of the request
 * that caused them, so a retried step whose first answer was lost (or whose function timed out after
 * the call) recognises its own update instead of taking it for someone else's or for "no change".
 */
export function updateAcceptedWith(events: StackEventView[], token: string): StackEventView | undefined {
  return events
    .filter((e) => e.clientRequestToken === token)
    .sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime())[0];
}

/** When a wait that began at `since` must give up, for a bound in minutes. */
export function deadlineAfter(since: string | Date, minutes: number): Date {
  return new Date(new Date(since).getTime() + minutes * 60_000);
}

/**
 * The root cause of a failed update: the earliest resource failure since the update began
 * (later failures are usually the cancellations it caused).
 */
export function rootCauseOfFailure(events: StackEventView[], since: Date): string | undefined {
  const failure = events
    .filter((e) => e.timestamp.getTime() >= since.getTime() && /FAILED$/.test(e.resourceStatus ?? ''))
    .filter((e) => e.resourceStatusReason && !/cancelled/i.test(e.resourceStatusReason))
    .sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime())[0];
  if (!failure) return undefined;
  return `${failure.logicalResourceId ?? 'a resource'}: ${failure.resourceStatusReason}`;
}

/**
 * CloudFormation answers "No updates are to be performed" as a ValidationError. It means the
 * stack already has exactly what was asked, which is success for a rollout.
 */
export function isNoUpdatesError(error: unknown): boolean {
  return error instanceof Error && /No updates are to be performed/i.test(error.message);
}
