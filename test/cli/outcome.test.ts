import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_STATUSES } from '../../functions/lib/contracts';
import { EXIT } from '../../cli/errors';
import { FAIL_STATE_ERRORS, SUCCEED_STATES, exitCodeOf, outcomeOf, type RunResult } from '../../cli/outcome';

interface AslState {
  Type: string;
  Error?: string;
  Choices?: { Variable: string; StringEquals?: string; IsPresent?: boolean; Next: string }[];
  Default?: string;
}
const asl = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'statemachine', 'pipeline.asl.json'), 'utf8')) as {
  States: Record<string, AslState>;
};

describe('the end of a run, as the state machine routes it', () => {
  const routing = asl.States['How did the run end?']!;
  const routes: [string, string][] = [
    ...routing.Choices!.filter((c) => c.StringEquals).map((c): [string, string] => [c.StringEquals!, c.Next]),
    ['FAILED', routing.Default!],
  ];

  it('ends a run whose message could not be sent as failed, whatever its status, so the alert reports it', () => {
    const first = routing.Choices![0]!;
    expect(first).toMatchObject({ Variable: '$.notificationError', IsPresent: true });
    expect(asl.States[first.Next]).toMatchObject({ Type: 'Fail', Error: 'NotificationFailed' });
    expect(outcomeOf({ status: 'FAILED', error: 'NotificationFailed' })).toBe('FAILED');
  });

  it('routes every run status somewhere', () => {
    expect(routes.map(([status]) => status).sort()).toEqual([...RUN_STATUSES].sort());
  });

  it.each(routes)('%s ends in "%s", which the CLI reads back as the same status', (status, stateName) => {
    const state = asl.States[stateName]!;
    if (state.Type === 'Succeed') {
      expect(SUCCEED_STATES[stateName]).toBe(status);
      // The output carries the status too; without it (truncated) the state's name still tells.
      expect(outcomeOf({ status: 'SUCCEEDED', lastState: stateName })).toBe(status);
      expect(outcomeOf({ status: 'SUCCEEDED', output: JSON.stringify({ outcome: { status } }) })).toBe(status);
    } else {
      expect(state.Type).toBe('Fail');
      expect(FAIL_STATE_ERRORS[state.Error!]).toBe(status);
      expect(outcomeOf({ status: 'FAILED', error: state.Error })).toBe(status);
    }
  });

  it('maps no error or state the definition does not have', () => {
    const failErrors = Object.values(asl.States).filter((s) => s.Type === 'Fail').map((s) => s.Error);
    const succeedNames = Object.entries(asl.States).filter(([, s]) => s.Type === 'Succeed').map(([name]) => name);
    // Two Fail states end a run as RolledBack (a registration and a soak that failed).
    expect(Object.keys(FAIL_STATE_ERRORS).sort()).toEqual([...new Set(failErrors)].sort());
    expect(Object.keys(SUCCEED_STATES).sort()).toEqual([...succeedNames].sort());
  });
});

describe('outcomeOf', () => {
  it('prefers the outcome in the output over the state name', () => {
    expect(outcomeOf({ status: 'SUCCEEDED', output: '{"outcome":{"status":"DRY_RUN"}}', lastState: 'Fleet is on the new image' })).toBe('DRY_RUN');
  });

  it('falls back to SUCCEEDED / FAILED when neither says more', () => {
    expect(outcomeOf({ status: 'SUCCEEDED', output: 'An output', lastState: 'A State' })).toBe('SUCCEEDED');
    expect(outcomeOf({ status: 'SUCCEEDED', output: '{"outcome":{"status":"MAYBE"}}' })).toBe('SUCCEEDED');
    expect(outcomeOf({ status: 'FAILED', error: 'States.Runtime' })).toBe('FAILED');
    expect(outcomeOf({ status: 'FAILED' })).toBe('FAILED');
  });

  it('keeps what Step Functions says about runs that did not end on their own', () => {
    expect(outcomeOf({ status: 'RUNNING' })).toBe('RUNNING');
    expect(outcomeOf({ status: 'PENDING_REDRIVE' })).toBe('RUNNING');
    expect(outcomeOf({ status: 'ABORTED' })).toBe('ABORTED');
    expect(outcomeOf({ status: 'TIMED_OUT' })).toBe('TIMED_OUT');
    expect(outcomeOf({ status: 'SOMETHING_NEW' })).toBe('UNKNOWN');
  });
});

describe('exitCodeOf', () => {
  it.each<[RunResult, number]>([
    ['SUCCEEDED', 0],
    ['PARTIAL', 0],
    ['DRY_RUN', 0],
    ['REJECTED', 1],
    ['FAILED', 1],
    ['ABORTED', 1],
    ['TIMED_OUT', 1],
    ['UNKNOWN', 1],
    ['ROLLED_BACK', 2],
    ['CRITICAL', 3],
    ['SKIPPED', 5],
  ])('%s exits %i', (result, code) => {
    expect(exitCodeOf(result)).toBe(code);
  });

  it('keeps 4 for the CLI refusing before it starts anything', () => {
    const runCodes = (['SUCCEEDED', 'DRY_RUN', 'SKIPPED', 'REJECTED', 'FAILED', 'ROLLED_BACK', 'CRITICAL', 'ABORTED', 'TIMED_OUT'] as RunResult[]).map(exitCodeOf);
    expect(runCodes).not.toContain(EXIT.usage);
  });
});
