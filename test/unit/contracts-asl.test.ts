/** The state machine definition speaks the same names as the code (functions/lib/contracts/index.ts, errors.ts). */
import { BUILD_OVERRIDES, PIPELINE_STEPS, RUN_STATUSES } from '../../functions/lib/contracts';
import { ERROR_NAMES } from '../../functions/lib/contracts/errors';
import { RUN_HOURS_LIMIT } from '../../functions/lib/decisions/gates';
import { BRANCH_ENDINGS } from '../../functions/lib/decisions/rollout';
import { allStates, substitutedDefinition } from '../../local/state-machine';

const definition = substitutedDefinition();
const states = [...allStates(definition).entries()] as [string, Record<string, any>][];
const CLUSTER_STEPS = ['baseline', 'update', 'stack', 'registration', 'rollback'];

it('routes only on error names the functions throw, or on AWS-defined ones', () => {
  const ours = new Set<string>(Object.values(ERROR_NAMES));
  const routed = states.flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals));
  // Sandbox.Timedout is what Lambda reports when a function runs out of time.
  const unknown = routed.filter((name) => !/^(States|Lambda|CodeBuild)\./.test(name) && name !== 'Sandbox.Timedout' && !ours.has(name));
  expect(unknown).toEqual([]);
  // and the names that matter are really routed on
  for (const name of [
    'InvalidRequest',
    'StackBusy',
    'StackUpdateInProgress',
    'StackUpdateTimedOut',
    'StackUpdateRolledBack',
    'StackRollbackFailed',
    'RegistrationPending',
    'RegistrationTimedOut',
    'AmiNotAvailableYet',
    'PromotionNotVisibleYet',
    'TransientAwsError',
  ]) {
    expect(routed).toContain(name);
  }
});

it('overrides exactly the CodeBuild variables the buildspec expects per build', () => {
  const bake = states.find(([, s]) => s.Resource === 'arn:aws:states:::codebuild:startBuild.sync')![1];
  const names = bake.Parameters.EnvironmentVariablesOverride.map((v: { Name: string }) => v.Name);
  expect(names.sort()).toEqual(Object.values(BUILD_OVERRIDES).sort());
});

it('ends every run with an outcome ops can be told about, and every cluster branch with a known ending', () => {
  const outcomes = states.filter(([, s]) => s.ResultPath === '$.outcome').map(([name, s]) => ({ name, ...s.Result }));
  const clusterLevel = outcomes.filter((o) => 'ending' in o);
  const runLevel = outcomes.filter((o) => !('ending' in o));
  // Every cluster ending is reached (the soak's rollback branch reuses rolled-back and
  // rollback-failed), and the run-level ones; fewer means the filter missed them.
  expect([...new Set(clusterLevel.map((o) => o.ending))].sort()).toEqual([...BRANCH_ENDINGS].sort());
  expect(runLevel.length).toBeGreaterThanOrEqual(RUN_STATUSES.length);
  for (const o of clusterLevel) {
    expect({ state: o.name, known: CLUSTER_STEPS.includes(o.step) }).toEqual({ state: o.name, known: true });
  }
  for (const o of runLevel) {
    const known = (RUN_STATUSES as readonly string[]).includes(o.status) && (PIPELINE_STEPS as readonly string[]).includes(o.step);
    expect({ state: o.name, known }).toEqual({ state: o.name, known: true });
  }
  expect([...new Set(runLevel.map((o) => o.status))].sort()).toEqual([...RUN_STATUSES].sort());
});

it('notifies on every top-level outcome, and every notification ends the run', () => {
  const top = definition.States as Record<string, any>;
  for (const [name, state] of Object.entries(top)) {
    if (state.ResultPath === '$.outcome') expect({ name, next: state.Next }).toEqual({ name, next: 'Notify ops' });
  }
  const choices = top['How did the run end?'].Choices as { Variable: string; StringEquals?: string; Next: string }[];
  const byStatus = choices.filter((c) => c.Variable === '$.outcome.status').map((c) => c.StringEquals);
  expect(byStatus.sort()).toEqual(RUN_STATUSES.filter((s) => s !== 'FAILED').sort());
  // every other choice ends the run as failed
  for (const c of choices.filter((c) => c.Variable !== '$.outcome.status')) expect(top[c.Next].Type).toBe('Fail');
  expect(top[top['How did the run end?'].Default].Type).toBe('Fail');
});

it('waits for approval on a callback task whose timeout comes from the plan the request check writes, and names it as the CLI does', () => {
  const { APPROVAL_STATE } = require('../../cli/start-run') as { APPROVAL_STATE: string };
  const approval = states.find(([name]) => name === APPROVAL_STATE)?.[1];
  expect(approval?.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
  expect(approval?.TimeoutSecondsPath).toBe('$.plan.approvalTimeoutSeconds');
  expect(approval?.Parameters.Payload['token.$']).toBe('$$.Task.Token');
  // A time-out is a rejection, never a retry.
  const retried = (approval?.Retry ?? []).flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals);
  expect(retried).not.toContain('States.Timeout');
  expect(retried).not.toContain('States.ALL');
  expect(approval?.Catch[0]).toMatchObject({ ErrorEquals: ['States.Timeout'], Next: 'Nobody answered the approval in time' });
});

it("ends a run at the 7 days the gates' bound assumes (RUN_HOURS_LIMIT), the most a Standard workflow runs", () => {
  expect(definition.TimeoutSeconds).toBe(RUN_HOURS_LIMIT * 3600);
});
