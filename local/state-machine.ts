import { readFileSync } from 'node:fs';
import path from 'node:path';
import './polyfills';
import { StateMachine } from 'aws-local-stepfunctions';

export const DEFINITION_PATH = path.join(__dirname, '..', 'statemachine', 'pipeline.asl.json');

/** The placeholders serverless.yml fills through DefinitionSubstitutions. */
export const LAMBDA_PLACEHOLDERS = {
  CheckRequestFunctionArn: 'checkRequest',
  RecordBakedAmiFunctionArn: 'recordBakedAmi',
  UpdateStackFunctionArn: 'updateStack',
  CheckStackUpdateFunctionArn: 'checkStackUpdate',
  ConfirmRegistrationFunctionArn: 'confirmRegistration',
  AssessWaveFunctionArn: 'assessWave',
  PromoteAmiFunctionArn: 'promoteAmi',
  NotifyFunctionArn: 'notify',
} as const;
export type FunctionKey = (typeof LAMBDA_PLACEHOLDERS)[keyof typeof LAMBDA_PLACEHOLDERS];

export const CODEBUILD_RESOURCE = 'arn:aws:states:::codebuild:startBuild.sync';
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const STATE_MACHINE_NAME = 'ecs-ami-pipeline-test';
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;

/** What DefinitionSubstitutions fills in at deploy time, for one deployment. */
export interface DeployedNames {
  functionArn: (key: FunctionKey) => string;
  bakeProjectName: string;
  gitCommit: string;
}

/** The names the tests use. */
export const TEST_NAMES: DeployedNames = {
  functionArn: (key) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ecs-ami-pipeline-test-${key}`,
  bakeProjectName: 'ecs-ami-pipeline-test-bake',
  gitCommit: '0123456789abcdef0123456789abcdef01234567',
};

/** The definition text with every `${Placeholder}` replaced, as Step Functions does at deploy time. */
export function substitutedDefinitionText(names: DeployedNames = TEST_NAMES): string {
  const values: Record<string, string> = {
    BakeProjectName: names.bakeProjectName,
    GitCommit: names.gitCommit,
    ...Object.fromEntries(Object.entries(LAMBDA_PLACEHOLDERS).map(([placeholder, key]) => [placeholder, names.functionArn(key)])),
  };
  return readFileSync(DEFINITION_PATH, 'utf8').replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no substitution for ${whole} in ${DEFINITION_PATH}`);
    return value;
  });
}

export function substitutedDefinition(names: DeployedNames = TEST_NAMES): Record<string, unknown> {
  return JSON.parse(substitutedDefinitionText(names)) as Record<string, unknown>;
}

interface StateDef {
  Type: string;
  Resource?: string;
  Retry?: unknown[];
  ItemProcessor?: { States: Record<string, StateDef> };
}

/** Every state, nested Map states included, by name. */
export function allStates(definition: Record<string, unknown>): Map<string, StateDef> {
  const found = new Map<string, StateDef>();
  const walk = (states: Record<string, StateDef>) => {
    for (const [name, state] of Object.entries(states)) {
      found.set(name, state);
      if (state.ItemProcessor) walk(state.ItemProcessor.States);
    }
  };
  walk(definition.States as Record<string, StateDef>);
  return found;
}

export type LocalHandler = (input: any) => Promise<unknown> | unknown;
export type Handlers = Partial<Record<FunctionKey | 'bake', LocalHandler>>;

/** A state entered or retried, as the run goes (nested states carry the Map iteration index). */
export interface RunEvent {
  type: 'StateEntered' | 'StateRetried';
  state: string;
  /** Index of the Map iteration (the cluster within its wave) for nested states. */
  index?: number;
  input?: unknown;
}

export interface RunOptions {
  /** The deployment whose names the definition is filled with (default: the tests'). */
  names?: DeployedNames;
  executionName?: string;
  /** Defaults to an ARN of the test state machine named after executionName. */
  executionArn?: string;
  startTime?: string;
  /** Pause of every Wait state and every Retry, in milliseconds (default 0). */
  waitMs?: number;
  retryMs?: number;
  onEvent?: (event: RunEvent) => void;
}

export interface RunOutcome {
  status: 'SUCCEEDED' | 'FAILED';
  output?: any;
  error?: { name: string; message: string };
  /** Top-level states entered, in order. */
  path: string[];
  /** Every state entered, nested ones included. */
  entered: string[];
  /** Retries (each one a billed state transition in a Standard workflow). */
  retries: number;
}

let executionCounter = 0;

/**
 * Runs the real definition in-process. Task states are routed by the function their resource
 * names (or to `bake` for the CodeBuild task), waits and retry pauses are zeroed.
 */
export async function runPipeline(input: unknown, handlers: Handlers, options: RunOptions = {}): Promise<RunOutcome> {
  const names = options.names ?? TEST_NAMES;
  const definition = substitutedDefinition(names);
  const states = allStates(definition);
  const byArn = new Map(Object.values(LAMBDA_PLACEHOLDERS).map((key) => [names.functionArn(key), key]));
  const localHandlers: Record<string, LocalHandler> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [name, state] of states) {
    if (state.Type === 'Wait') waitTimeOverrides[name] = options.waitMs ?? 0;
    if (state.Retry) retryIntervalOverrides[name] = options.retryMs ?? 0;
    if (state.Type !== 'Task') continue;
    const key = state.Resource === CODEBUILD_RESOURCE ? 'bake' : byArn.get(state.Resource ?? '');
    if (!key) throw new Error(`state ${name} has a resource the test cannot route: ${state.Resource}`);
    localHandlers[name] = async (taskInput: unknown) => {
      const handler = handlers[key];
      if (!handler) throw new Error(`no handler given for ${key} (state "${name}")`);
      // Let the event-log consumer see this state's entry before the handler logs anything.
      await new Promise((resolve) => setImmediate(resolve));
      return handler(taskInput);
    };
  }

  const executionName = options.executionName ?? `test-run-${++executionCounter}`;
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: true } });
  const execution = machine.run(input as Parameters<typeof machine.run>[0], {
    overrides: {
      // Handlers return JSON-shaped results; the library's JSONValue type cannot see that through `unknown`.
      taskResourceLocalHandlers: localHandlers as never,
      waitTimeOverrides,
      retryIntervalOverrides,
    },
    context: {
      Execution: {
        Id: options.executionArn ?? `arn:aws:states:${REGION}:${ACCOUNT}:execution:${STATE_MACHINE_NAME}:${executionName}`,
        Name: executionName,
        StartTime: options.startTime ?? new Date().toISOString(),
      },
    },
  });
  const path: string[] = [];
  const entered: string[] = [];
  let retries = 0;
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      const e = event as { type: string; state?: { name: string; input?: unknown }; index?: number };
      if ((e.type === 'StateEntered' || e.type === 'StateRetried') && e.state) {
        options.onEvent?.({ type: e.type, state: e.state.name, index: e.index, input: e.state.input });
      }
      if (e.type === 'StateRetried') retries += 1;
      if (e.type === 'StateEntered' && e.state) {
        entered.push(e.state.name);
        if (e.index === undefined) path.push(e.state.name);
      }
    }
  })();
  try {
    const output: unknown = await execution.result;
    await collecting;
    return { status: 'SUCCEEDED', output, path, entered, retries };
  } catch (error) {
    await collecting.catch(() => undefined);
    const cause = (error as { cause?: { name?: string; message?: string } }).cause ?? (error as Error);
    return { status: 'FAILED', error: { name: cause.name ?? 'Error', message: cause.message ?? '' }, path, entered, retries };
  }
}
