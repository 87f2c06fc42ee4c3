import type { HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { endOf, eventsAfter, formatStep, stepOf } from '../../cli/progress';

const START = new Date('2026-11-26T10:00:00Z');
const at = (seconds: number) => new Date(START.getTime() + seconds * 1000);

function entered(type: string, name: string, seconds: number, input?: unknown): HistoryEvent {
  return {
    id: 1,
    type: type as HistoryEvent['type'],
    timestamp: at(seconds),
    stateEnteredEventDetails: { name, input: input === undefined ? undefined : JSON.stringify(input) },
  };
}

describe('stepOf', () => {
  it('reports a state entered with the time since the start', () => {
    expect(stepOf(entered('TaskStateEntered', 'Bake the image', 754), START)).toEqual({ elapsedMs: 754_000, state: 'Bake the image', detail: undefined });
  });

  it("names the wave a Map state rolls, and the stack each iteration works on", () => {
    const wave = { currentWave: { wave: { name: 'prod', clusters: [{ stackName: 'prod-a-ecs' }, { stackName: 'prod-b-ecs' }] } } };
    expect(stepOf(entered('MapStateEntered', "Roll the wave's clusters", 900, wave), START)?.detail).toBe('wave prod: prod-a-ecs, prod-b-ecs');
    const iteration = { target: { stackName: 'prod-b-ecs', clusterName: 'prod-b' }, amiId: 'ami-0d0d0d0d0d0d0d0d0' };
    expect(stepOf(entered('TaskStateEntered', 'Update the cluster stack', 901, iteration), START)?.detail).toBe('prod-b-ecs');
  });

  it('skips Choice states (they only route) and events that enter nothing', () => {
    expect(stepOf(entered('ChoiceStateEntered', 'Which kind of run?', 2), START)).toBeUndefined();
    expect(stepOf({ id: 3, type: 'TaskScheduled', timestamp: at(3) }, START)).toBeUndefined();
    expect(stepOf({ id: 4, type: 'PassStateExited', timestamp: at(3), stateExitedEventDetails: { name: 'Receive the request' } }, START)).toBeUndefined();
  });

  it('tolerates an input that is not JSON (history inputs can be truncated)', () => {
    const event = entered('PassStateEntered', 'Notify ops', 5);
    event.stateEnteredEventDetails!.input = '{"request": {"trig';
    expect(stepOf(event, START)).toEqual({ elapsedMs: 5000, state: 'Notify ops', detail: undefined });
  });
});

describe('endOf', () => {
  it('reads every way an execution ends', () => {
    expect(endOf({ id: 9, type: 'ExecutionSucceeded', timestamp: at(9), executionSucceededEventDetails: { output: '{"outcome":{}}' } })).toEqual({
      status: 'SUCCEEDED',
      output: '{"outcome":{}}',
    });
    expect(endOf({ id: 9, type: 'ExecutionFailed', timestamp: at(9), executionFailedEventDetails: { error: 'RolledBack', cause: 'A cluster did not confirm' } })).toEqual({
      status: 'FAILED',
      error: 'RolledBack',
      cause: 'A cluster did not confirm',
    });
    expect(endOf({ id: 9, type: 'ExecutionAborted', timestamp: at(9), executionAbortedEventDetails: {} })).toMatchObject({ status: 'ABORTED' });
    expect(endOf({ id: 9, type: 'ExecutionTimedOut', timestamp: at(9), executionTimedOutEventDetails: {} })).toMatchObject({ status: 'TIMED_OUT' });
    expect(endOf({ id: 9, type: 'TaskSucceeded', timestamp: at(9) })).toBeUndefined();
  });
});

describe('formatStep', () => {
  it('aligns the elapsed time and adds the detail', () => {
    expect(formatStep({ elapsedMs: 10_000, state: 'Check the request' })).toBe('     10s  Check the request');
    expect(formatStep({ elapsedMs: 724_000, state: 'Update the cluster stack', detail: 'dev-ecs' })).toBe('  12m 4s  Update the cluster stack · dev-ecs');
    expect(formatStep({ elapsedMs: 4_000_000, state: 'Notify ops' })).toBe('   1h 6m  Notify ops');
  });
});

describe('eventsAfter', () => {
  // A long history, served as Step Functions does with reverseOrder: newest first, 100 a page.
  const history: HistoryEvent[] = Array.from({ length: 250 }, (_, i) => ({ id: i + 1, type: 'TaskScheduled', timestamp: at(i) }));
  function historyApi() {
    const calls: { reverseOrder?: boolean; nextToken?: string }[] = [];
    const sfn = {
      async send(command: { input: { reverseOrder?: boolean; nextToken?: string; maxResults?: number } }) {
        calls.push(command.input);
        const newestFirst = [...history].reverse();
        const from = Number(command.input.nextToken ?? 0);
        const to = from + (command.input.maxResults ?? 100);
        return { events: newestFirst.slice(from, to), nextToken: to < newestFirst.length ? String(to) : undefined };
      },
    } as unknown as SFNClient;
    return { sfn, calls };
  }

  it('returns only the new events, oldest first, reading no further back than needed', async () => {
    const { sfn, calls } = historyApi();
    const events = await eventsAfter(sfn, 'arn:aws:states:us-east-1:123456789012:execution:m:run', 120);
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 130 }, (_, i) => i + 121));
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => c.reverseOrder === true)).toBe(true);
  });

  it('reads the whole history on the first poll, and nothing when nothing happened', async () => {
    const first = historyApi();
    expect(await eventsAfter(first.sfn, 'arn', 0)).toHaveLength(250);
    expect(first.calls).toHaveLength(3);
    const idle = historyApi();
    expect(await eventsAfter(idle.sfn, 'arn', 250)).toEqual([]);
    expect(idle.calls).toHaveLength(1);
  });
});
