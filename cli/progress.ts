import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { formatDuration } from '../functions/lib/decisions/notification';
import type { ExecutionEnd } from './outcome';

/** One step of a run as `run` prints it: a state entered, how long after the start, and for what. */
export interface Step {
  elapsedMs: number;
  state: string;
  /** The wave or stack the state works on, when its input says. */
  detail?: string;
}

export interface RunEnd extends ExecutionEnd {
  cause?: string;
  elapsedMs: number;
}

function parse(json: string | undefined): Record<string, unknown> | undefined {
  if (!json) return undefined;
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// Inside the Map each iteration's input names its stack; the Map's own input names the wave.
function detailOf(input: Record<string, unknown> | undefined): string | undefined {
  const target = input?.target as { stackName?: string } | undefined;
  if (typeof target?.stackName === 'string') return target.stackName;
  const wave = (input?.currentWave as { wave?: { name?: string; clusters?: { stackName?: string }[] } } | undefined)?.wave;
  if (typeof wave?.name === 'string') {
    const stacks = (wave.clusters ?? []).map((c) => c.stackName).filter(Boolean);
    return `wave ${wave.name}${stacks.length ? `: ${stacks.join(', ')}` : ''}`;
  }
  return undefined;
}

/** The step an event starts, if it starts one worth printing (Choice states only route). */
export function stepOf(event: HistoryEvent, startedAt: Date): Step | undefined {
  const type = event.type ?? '';
  if (!type.endsWith('StateEntered') || type === 'ChoiceStateEntered') return undefined;
  const details = event.stateEnteredEventDetails;
  if (!details?.name) return undefined;
  const elapsedMs = event.timestamp ? event.timestamp.getTime() - startedAt.getTime() : 0;
  return { elapsedMs, state: details.name, detail: detailOf(parse(details.input)) };
}

/** How the execution ended, if this event ends it. */
export function endOf(event: HistoryEvent): Omit<RunEnd, 'elapsedMs' | 'lastState'> | undefined {
  switch (event.type) {
    case 'ExecutionSucceeded':
      return { status: 'SUCCEEDED', output: event.executionSucceededEventDetails?.output };
    case 'ExecutionFailed':
      return {
        status: 'FAILED',
        error: event.executionFailedEventDetails?.error,
        cause: event.executionFailedEventDetails?.cause,
      };
    case 'ExecutionAborted':
      return { status: 'ABORTED', error: event.executionAbortedEventDetails?.error, cause: event.executionAbortedEventDetails?.cause };
    case 'ExecutionTimedOut':
      return { status: 'TIMED_OUT', error: event.executionTimedOutEventDetails?.error, cause: event.executionTimedOutEventDetails?.cause };
    default:
      return undefined;
  }
}

/** `  12m 4s  Roll the wave's clusters · wave prod: prod-a-ecs, prod-b-ecs` */
export function formatStep(step: Step, dim: (text: string) => string = (t) => t): string {
  const elapsed = formatDuration(step.elapsedMs).padStart(8);
  return `${dim(elapsed)}  ${step.state}${step.detail ? dim(` · ${step.detail}`) : ''}`;
}

/**
 * Events after `afterId`, oldest first. Pages newest-first and stops at the first event already
 * seen, so a poll costs one call however long the history has grown (a run can last hours).
 */
export async function eventsAfter(sfn: SFNClient, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, nextToken }));
    const all = page.events ?? [];
    const fresh = all.filter((e) => (e.id ?? 0) > afterId);
    events.push(...fresh);
    if (fresh.length < all.length) break;
    nextToken = page.nextToken;
  } while (nextToken);
  return events.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

/** Polls the execution's history, reports each step, and resolves with how it ended. */
export async function followExecution(
  sfn: SFNClient,
  executionArn: string,
  onStep: (step: Step) => void,
  options: { pollMs: number; startedAt: Date },
): Promise<RunEnd> {
  let lastId = 0;
  let startedAt = options.startedAt;
  let lastState: string | undefined;
  for (;;) {
    for (const event of await eventsAfter(sfn, executionArn, lastId)) {
      lastId = Math.max(lastId, event.id ?? 0);
      if (event.type === 'ExecutionStarted' && event.timestamp) startedAt = event.timestamp;
      const step = stepOf(event, startedAt);
      if (step) {
        lastState = step.state;
        onStep(step);
      }
      const end = endOf(event);
      if (end) {
        const elapsedMs = event.timestamp ? event.timestamp.getTime() - startedAt.getTime() : 0;
        return { ...end, lastState, elapsedMs };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
