import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExecutionAbortedError, StateMachine } from 'aws-local-stepfunctions';

export const DEFINITION_PATH = path.join(__dirname, '..', 'statemachine', 'pipeline.asl.json');

/** The placeholders serverless.yml fills through DefinitionSubstitutions. */
export const LAMBDA_PLACEHOLDERS = {
  CheckRequestFunctionArn: 'checkRequest',
  RecordBakedAmiFunctionArn: 'recordBakedAmi',
  FindConfirmedImageFunctionArn: 'findConfirmedImage',
  UpdateStackFunctionArn: 'updateStack',
  CheckStackUpdateFunctionArn: 'checkStackUpdate',
  ConfirmRegistrationFunctionArn: 'confirmRegistration',
  AssessWaveFunctionArn: 'assessWave',
  CopyImageFunctionArn: 'copyImage',
  RequestApprovalFunctionArn: 'requestApproval',
  CheckSoakFunctionArn: 'checkSoak',
  PromoteAmiFunctionArn: 'promoteAmi',
  NotifyFunctionArn: 'notify',
  ReleaseFleetFunctionArn: 'releaseFleet',
} as const;
export type FunctionKey = (typeof LAMBDA_PLACEHOLDERS)[keyof typeof LAMBDA_PLACEHOLDERS];

export const CODEBUILD_RESOURCE = 'arn:aws:states:::codebuild:startBuild.sync';
/** A Lambda invoked with a task token; the state waits until SendTaskSuccess/Failure answers or it times out. */
export const CALLBACK_RESOURCE = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
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
  Parameters?: { FunctionName?: string };
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: unknown[];
  ItemProcessor?: { ProcessorConfig?: { Mode?: string }; States: Record<string, StateDef> };
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

/** What a task wrapper knows about the call it wraps. */
export interface TaskCall {
  state: string;
  key: FunctionKey | 'bake';
  /** The cluster (stack name) a state inside the rollout's Map works on. */
  cluster?: string;
  /** How many times this state was called before in this run (for this cluster): retries and re-entries. */
  call: number;
  input: any;
}

/** Wraps every task call: fault injection, call attribution. `call` runs the real handler. */
export type TaskWrapper = (call: TaskCall, run: () => Promise<unknown>) => Promise<unknown>;

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
  wrapTask?: TaskWrapper;
  /** Asked before every task call: true stops the execution there, as StopExecution does (ABORTED). */
  abortWhen?: (call: TaskCall) => boolean;
  /**
   * The answer to a `.waitForTaskToken` task, once its Lambda ran: the output SendTaskSuccess would
   * send, or a thrown error named as Step Functions names it (`States.Timeout`, or SendTaskFailure's
   * error). The token is unique per call, as Step Functions' are.
   */
  answerTask?: (token: string, call: TaskCall) => Promise<unknown>;
}

/**
 * Step Functions history events, counted from the local run as AWS records them (Standard
 * workflows, "GetExecutionHistory" event types): per execution ExecutionStarted and its end; per
 * state its Entered and Exited events; per Lambda attempt LambdaFunctionScheduled, Started and
 * Succeeded/Failed; per .sync attempt TaskScheduled, Started, Submitted and Succeeded/Failed; a
 * Distributed Map adds MapRunStarted and its end to the parent, and runs each item as a child
 * execution with a history of its own. Counted as upper bounds (a caught error is counted as if
 * the state also exited).
 */
export interface HistoryCount {
  /** The run itself. */
  parent: number;
  /** The largest child execution of a Distributed Map (one per cluster). */
  largestChild: number;
  children: number;
}

export interface RunOutcome {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: any;
  error?: { name: string; message: string };
  /** Top-level states entered, in order. */
  path: string[];
  /** Every state entered, nested ones included. */
  entered: string[];
  /** Retries (each one a billed state transition in a Standard workflow). */
  retries: number;
  history: HistoryCount;
  /** The largest state input, state output or task input of the run, in bytes (limit 262144). */
  maxStateBytes: number;
  /** Where the largest one was. */
  maxStateAt: string;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');

let executionCounter = 0;

const VALIDATION = { checkArn: false, checkPaths: true } as const;
// Its package.json is not among the package's exports: read from where npm installed it.
const LIBRARY_VERSION = (JSON.parse(readFileSync(path.join(__dirname, '..', 'node_modules', 'aws-local-stepfunctions', 'package.json'), 'utf8')) as { version: string }).version;
/** Definitions this library version has validated, by digest: a marker file each, shared by every process. */
export const VALIDATED_DIR = path.join(tmpdir(), 'ami-pipeline-validated-definitions');

/**
 * Building a StateMachine validates the definition, a JSON-schema compile of about 0.6 CPU-seconds.
 * It is done once per deployment's names in a process, and once per exact definition (and library
 * version and options) across processes: every e2e file, the statemachine tests and `make up` build
 * the same deployed definition, and the same input validates the same way. A definition that fails
 * leaves no marker and fails again wherever it is built.
 */
const machines = new Map<DeployedNames, StateMachine>();
export function machineFor(names: DeployedNames, definition: Record<string, unknown>): StateMachine {
  let machine = machines.get(names);
  if (!machine) {
    // The library may change the object it is given: the digest is of the text, the library gets a copy.
    const text = JSON.stringify(definition);
    const digest = createHash('sha256').update(JSON.stringify([LIBRARY_VERSION, VALIDATION])).update(text).digest('hex');
    const marker = path.join(VALIDATED_DIR, digest);
    const validated = existsSync(marker);
    machine = new StateMachine(JSON.parse(text) as never, { validationOptions: { ...VALIDATION, noValidate: validated } });
    if (!validated) {
      try {
        mkdirSync(VALIDATED_DIR, { recursive: true });
        writeFileSync(marker, '');
      } catch {
        // Only a saving: the next process validates again.
      }
    }
    machines.set(names, machine);
  }
  return machine;
}

/**
 * What a task call of a stopped run returns: nothing, once the stop has settled the run. No call
 * after the stop reaches a handler (a retry of the stopped state included); settling still lets the
 * library's loop for the run end and clear its timers (the task's and the run's 7-day
 * TimeoutSeconds), which a call that never returned kept pending, and the test process alive.
 */
function settledAfterStop(): Promise<null> {
  return new Promise((resolve) => setImmediate(() => resolve(null)));
}

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
  // Which states run in a Distributed Map's child executions.
  const childStates = new Set<string>();
  for (const state of states.values()) {
    if (state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') for (const name of Object.keys(state.ItemProcessor.States)) childStates.add(name);
  }
  const calls = new Map<string, number>();
  const executionName = options.executionName ?? `test-run-${++executionCounter}`;
  let maxStateBytes = 0;
  let maxStateAt = '';
  const measure = (where: string, value: unknown) => {
    const size = bytes(value);
    if (size > maxStateBytes) {
      maxStateBytes = size;
      maxStateAt = where;
    }
  };
  let abortNow: (() => void) | undefined;
  let aborted = false;
  for (const [name, state] of states) {
    if (state.Type === 'Wait') waitTimeOverrides[name] = options.waitMs ?? 0;
    if (state.Retry) retryIntervalOverrides[name] = options.retryMs ?? 0;
    if (state.Type !== 'Task') continue;
    const callback = state.Resource === CALLBACK_RESOURCE;
    if (callback && state.TimeoutSecondsPath) {
      // aws-local-stepfunctions resolves TimeoutSecondsPath against the task's Parameters, where AWS
      // resolves it against the state input; answerTask decides time-outs here (States.Timeout).
      delete state.TimeoutSecondsPath;
      state.TimeoutSeconds = 7 * 24 * 3600;
    }
    const key =
      state.Resource === CODEBUILD_RESOURCE ? 'bake' : byArn.get((callback ? state.Parameters?.FunctionName : state.Resource) ?? '');
    if (!key) throw new Error(`state ${name} has a resource the test cannot route: ${state.Resource}`);
    localHandlers[name] = async (taskInput: any) => {
      const handler = handlers[key];
      if (!handler) throw new Error(`no handler given for ${key} (state "${name}")`);
      // Let the event-log consumer see this state's entry before the handler logs anything.
      await new Promise((resolve) => setImmediate(resolve));
      measure(`${name} (task input)`, taskInput);
      // Map iterations carry their target: the cluster identifies the branch.
      const cluster = childStates.has(name) ? (taskInput?.target?.stackName as string | undefined) : undefined;
      const callKey = `${name}#${cluster ?? ''}`;
      const n = calls.get(callKey) ?? 0;
      calls.set(callKey, n + 1);
      const call: TaskCall = { state: name, key, cluster, call: n, input: taskInput };
      if (aborted) return settledAfterStop();
      if (options.abortWhen?.(call)) {
        aborted = true;
        abortNow?.();
        // The execution is stopped; this call never reaches the handler.
        return settledAfterStop();
      }
      if (!callback) {
        const run = async () => handler(taskInput);
        return options.wrapTask ? options.wrapTask(call, run) : run();
      }
      // lambda:invoke.waitForTaskToken: the function gets the Payload with a token of its own call.
      const token = `${executionName}/${name}/${cluster ?? ''}/${n}`;
      const payload = { ...(taskInput?.Payload ?? {}), token };
      const run = async () => handler(payload);
      await (options.wrapTask ? options.wrapTask({ ...call, input: payload }, run) : run());
      if (!options.answerTask) throw new Error(`state "${name}" waits for a task token and the run was given no answerTask`);
      return options.answerTask(token, { ...call, input: payload });
    };
  }

  const machine = machineFor(names, definition);
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
      // Step Functions gives each callback task a token; the local handler replaces this one per call.
      Task: { Token: 'replaced-per-call' },
    },
  });
  abortNow = () => execution.abort();
  const path: string[] = [];
  const entered: string[] = [];
  let retries = 0;
  // History: the parent's count, and one count per child execution (per Map iteration of a wave).
  let parentEvents = 2;
  let mapRuns = 0;
  const children = new Map<string, number>();
  const count = (name: string, index: number | undefined, n: number) => {
    if (childStates.has(name) && index !== undefined) {
      const key = `${mapRuns}#${index}`;
      children.set(key, (children.get(key) ?? 2) + n);
    } else parentEvents += n;
  };
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      const e = event as { type: string; state?: { name: string; type?: string; input?: unknown; output?: unknown }; index?: number };
      if ((e.type === 'StateEntered' || e.type === 'StateRetried') && e.state) {
        options.onEvent?.({ type: e.type, state: e.state.name, index: e.index, input: e.state.input });
      }
      if (e.state && e.type === 'StateEntered') measure(`${e.state.name} (input)`, e.state.input);
      if (e.state && e.type === 'StateExited') measure(`${e.state.name} (output)`, e.state.output);
      const stateName = e.state?.name ?? '';
      const def = states.get(stateName);
      if (e.type === 'StateRetried' && e.state) {
        retries += 1;
        count(stateName, e.index, def?.Resource === CODEBUILD_RESOURCE ? 4 : 3);
      }
      if (e.type === 'StateEntered' && e.state) {
        entered.push(stateName);
        if (e.index === undefined) path.push(stateName);
        if (def?.Type === 'Task') count(stateName, e.index, def.Resource === CODEBUILD_RESOURCE ? 6 : 5);
        else if (def?.Type === 'Map' && def.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
          mapRuns += 1;
          count(stateName, e.index, 4);
        } else count(stateName, e.index, 2);
      }
    }
  })();
  const history = (): HistoryCount => ({
    parent: parentEvents,
    largestChild: Math.max(0, ...children.values()),
    children: children.size,
  });
  const measured = () => ({ path, entered, retries, history: history(), maxStateBytes, maxStateAt });
  try {
    const output: unknown = await execution.result;
    await collecting;
    measure('execution output', output);
    return { status: 'SUCCEEDED', output, ...measured() };
  } catch (error) {
    await collecting.catch(() => undefined);
    if (aborted || error instanceof ExecutionAbortedError) {
      return { status: 'ABORTED', error: { name: 'ExecutionAborted', message: 'stopped' }, ...measured() };
    }
    const cause = (error as { cause?: { name?: string; message?: string } }).cause ?? (error as Error);
    return { status: 'FAILED', error: { name: cause.name ?? 'Error', message: cause.message ?? '' }, ...measured() };
  }
}
