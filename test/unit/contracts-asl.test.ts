/** The state machine definition speaks the same names as the code (functions/lib/contracts.ts, errors.ts). */
import { BUILD_OVERRIDES, PIPELINE_STEPS, RUN_STATUSES } from '../../functions/lib/contracts';
import { ERROR_NAMES } from '../../functions/lib/errors';
import { CLUSTER_STATUSES } from '../../functions/lib/rollout';
import { allStates, substitutedDefinition } from '../../local/state-machine';

const definition = substitutedDefinition();
const states = [...allStates(definition).entries()] as [string, Record<string, any>][];
const CLUSTER_STEPS = ['update', 'stack', 'registration', 'rollback'];

it('routes only on error names the functions throw, or on AWS-defined ones', () => {
  const ours = new Set<string>(Object.values(ERROR_NAMES));
  const routed = states.flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals));
  const unknown = routed.filter((name) => !/^(States|Lambda|CodeBuild)\./.test(name) && !ours.has(name));
  expect(unknown).toEqual([]);
  // and the names that matter are really routed on
  for (const name of ['InvalidRequest', 'StackBusy', 'StackUpdateInProgress', 'StackUpdateRolledBack', 'StackRollbackFailed', 'RegistrationPending', 'RegistrationTimedOut', 'AmiNotAvailableYet', 'TransientAwsError']) {
    expect(routed).toContain(name);
  }
});

it('overrides exactly the CodeBuild variables the buildspec expects per build', () => {
  const bake = states.find(([, s]) => s.Resource === 'arn:aws:states:::codebuild:startBuild.sync')![1];
  const names = bake.Parameters.EnvironmentVariablesOverride.map((v: { Name: string }) => v.Name);
  expect(names.sort()).toEqual(Object.values(BUILD_OVERRIDES).sort());
});

it('ends every run with an outcome ops can be told about', () => {
  const outcomes = states.filter(([, s]) => s.ResultPath === '$.outcome').map(([name, s]) => ({ name, ...s.Result }));
  // 12 run-level outcomes and 9 per-cluster ones; fewer means the filter missed them.
  expect(outcomes.length).toBe(21);
  for (const o of outcomes) {
    const clusterLevel = (CLUSTER_STATUSES as readonly string[]).includes(o.status) && CLUSTER_STEPS.includes(o.step);
    const runLevel = (RUN_STATUSES as readonly string[]).includes(o.status) && (PIPELINE_STEPS as readonly string[]).includes(o.step);
    expect({ state: o.name, known: clusterLevel || runLevel }).toEqual({ state: o.name, known: true });
  }
});

it('notifies on every top-level outcome, and every notification ends the run', () => {
  const top = definition.States as Record<string, any>;
  for (const [name, state] of Object.entries(top)) {
    if (state.ResultPath === '$.outcome') expect({ name, next: state.Next }).toEqual({ name, next: 'Notify ops' });
  }
  const choices = top['How did the run end?'].Choices.map((c: { StringEquals: string }) => c.StringEquals);
  expect(choices.sort()).toEqual(RUN_STATUSES.filter((s) => s !== 'FAILED').sort());
});
