/**
 * Records every AWS SDK v3 call this process makes, attributed to the function (or other actor)
 * that made it, so the calls can be checked against the IAM role that function gets when deployed
 * (local/iam/evaluate.ts). Test and harness code only: nothing under functions/ imports this.
 *
 * How it sees the calls: every SDK v3 client (`SSMClient`, `ECSClient`, ...) extends one base class,
 * `Client`, whose `send` method every command goes through. In the installed SDK that class lives in
 * `@smithy/core/client` (older SDKs: `@smithy/smithy-client`); `installRecorder()` finds each copy the
 * installed `@aws-sdk/client-*` packages resolve (there may be several in node_modules) and wraps its
 * `prototype.send`. Clients the handlers create at module load are covered, because the wrapper sits
 * on the shared prototype, not on instances. The wrapper returns exactly what the original returns
 * (same output, same error) and only reads the command.
 *
 * Attribution: `withActor('checkRequest', () => handler(event))` runs the handler in an
 * AsyncLocalStorage context; every call made inside it, however deep and however asynchronous, is
 * recorded with that actor. Calls made outside any actor (the harness's own setup and inspection)
 * are recorded with `actor: undefined` and are not evaluated.
 *
 * aws-sdk-client-mock: `mockClient(SSMClient)` replaces `send` on `SSMClient.prototype` (or on the
 * instance), so calls answered by the mock never reach `Client.prototype.send` and are NOT recorded.
 * `recordMockedCalls(mock, actor)` turns a mock's call history into records instead.
 *
 * Module copies: `installRecorder` loads the CommonJS build of each base class with this module's
 * own `require`, which is what the clients get here (the project is CommonJS, under tsx and under
 * jest, whose module registry this shares). A client loaded from an ESM build would have its own
 * copy: `isRecorded(client)` tells, and `patchClientClass(Object.getPrototypeOf(SomeClient))` covers it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface RecordedCall {
  /** Order of the call in this recording, from 1. */
  seq: number;
  /** The function key (e.g. `checkRequest`) or other actor; undefined for the harness's own calls. */
  actor: string | undefined;
  /** The client's service id, e.g. `SSM`, `Auto Scaling`, `SFN`. */
  serviceId: string;
  /** The IAM service prefix, e.g. `ssm`, `autoscaling`, `states`. */
  service: string;
  /** The API operation, e.g. `GetParameter` (the command class name minus `Command`). */
  operation: string;
  /** `<service>:<operation>`, e.g. `ssm:GetParameter`; the IAM action for every operation mapped so far. */
  action: string;
  /** A copy of the command input, taken when the call was made. */
  input: Record<string, unknown>;
  /** The client's region; undefined until resolved (see `settled()`) or when it has none. */
  region: string | undefined;
  /** undefined while in flight; then whether the call succeeded. */
  ok: boolean | undefined;
  error?: { name: string; message: string };
}

/** IAM service prefix for each SDK client service id (the ones whose signing name differs, and the rest we use). */
const SERVICE_PREFIX: Record<string, string> = {
  'Auto Scaling': 'autoscaling',
  'API Gateway': 'apigateway',
  ApiGatewayV2: 'apigateway',
  CloudFormation: 'cloudformation',
  CloudWatch: 'cloudwatch',
  'CloudWatch Logs': 'logs',
  CodeBuild: 'codebuild',
  'Cognito Identity Provider': 'cognito-idp',
  DynamoDB: 'dynamodb',
  EC2: 'ec2',
  ECR: 'ecr',
  ECS: 'ecs',
  EventBridge: 'events',
  IAM: 'iam',
  KMS: 'kms',
  Lambda: 'lambda',
  S3: 's3',
  Scheduler: 'scheduler',
  SFN: 'states',
  SNS: 'sns',
  SQS: 'sqs',
  SSM: 'ssm',
  STS: 'sts',
};

/** The IAM prefix for a client service id; unknown ids fall back to the id lower-cased without spaces. */
export function servicePrefix(serviceId: string): string {
  return SERVICE_PREFIX[serviceId] ?? serviceId.toLowerCase().replace(/\s+/g, '');
}

type SendFn = (this: SdkClientLike, command: SdkCommandLike, optionsOrCb?: unknown, cb?: unknown) => unknown;
interface SdkClientLike {
  config?: { serviceId?: string; region?: unknown };
  send: SendFn;
}
interface SdkCommandLike {
  input?: unknown;
  schema?: unknown;
  constructor: { name: string };
}
interface ClientClass {
  prototype: { send: SendFn };
}

const PATCHED = Symbol.for('ecs-ami-pipeline.iam-recorder.original-send');

const actors = new AsyncLocalStorage<string>();
const patchedClasses = new Set<ClientClass>();
let recording = false;
let records: RecordedCall[] = [];
let pending = new Set<Promise<unknown>>();
let seq = 0;

/** Runs `fn` with every SDK call it makes (directly or in anything it awaits) attributed to `actor`. */
export function withActor<T>(actor: string, fn: () => T): T {
  return actors.run(actor, fn);
}

export function currentActor(): string | undefined {
  return actors.getStore();
}

function operationOf(command: SdkCommandLike): string {
  // Generated commands carry their operation schema [kind, namespace, name, ...]; the class name
  // (GetParameterCommand) is the same thing and survives where the schema shape changes.
  const schema = command.schema;
  if (Array.isArray(schema) && typeof schema[2] === 'string' && schema[2]) return schema[2];
  const name = command.constructor?.name ?? '';
  if (!name.endsWith('Command') || name === 'Command') {
    throw new Error(`IAM recorder: cannot tell the operation of command class ${JSON.stringify(name)}`);
  }
  return name.slice(0, -'Command'.length);
}

function copyInput(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  try {
    return structuredClone(input) as Record<string, unknown>;
  } catch {
    // Streams and functions do not clone; the top-level fields are what resource mapping reads.
    return { ...(input as Record<string, unknown>) };
  }
}

function resolveRegion(client: SdkClientLike): Promise<string | undefined> {
  const region = client.config?.region;
  try {
    const value = typeof region === 'function' ? (region as () => unknown)() : region;
    return Promise.resolve(value).then(
      (r) => (typeof r === 'string' && r ? r : undefined),
      () => undefined,
    );
  } catch {
    return Promise.resolve(undefined);
  }
}

/** What a call is, from its client and command: the service, the operation, the IAM action and the input. */
function callOf(client: SdkClientLike, command: SdkCommandLike) {
  const serviceId = client.config?.serviceId ?? 'unknown';
  const service = servicePrefix(serviceId);
  const operation = operationOf(command);
  return { serviceId, service, operation, action: `${service}:${operation}`, input: copyInput(command.input) };
}

function begin(client: SdkClientLike, command: SdkCommandLike, actor: string | undefined): RecordedCall {
  const record: RecordedCall = { seq: ++seq, actor, ...callOf(client, command), region: undefined, ok: undefined };
  records.push(record);
  const regionDone = resolveRegion(client).then((r) => {
    record.region = r;
  });
  pending.add(regionDone);
  void regionDone.finally(() => pending.delete(regionDone));
  return record;
}

function finish(record: RecordedCall, error?: unknown): void {
  record.ok = error === undefined || error === null;
  if (!record.ok) {
    const e = error as { name?: unknown; message?: unknown };
    record.error = { name: String(e?.name ?? 'Error'), message: String(e?.message ?? error) };
  }
}

function wrapSend(original: SendFn): SendFn {
  const send: SendFn = function (this: SdkClientLike, command, optionsOrCb, cb) {
    if (!recording) return original.call(this, command, optionsOrCb, cb);
    let record: RecordedCall;
    try {
      record = begin(this, command, actors.getStore());
    } catch (error) {
      // Never let the recorder break a call; an unrecognisable command is still a failure to see.
      records.push({
        seq: ++seq,
        actor: actors.getStore(),
        serviceId: this.config?.serviceId ?? 'unknown',
        service: 'unknown',
        operation: 'unknown',
        action: 'unknown:unknown',
        input: {},
        region: undefined,
        ok: undefined,
        error: { name: 'RecorderError', message: (error as Error).message },
      });
      return original.call(this, command, optionsOrCb, cb);
    }
    const callback = typeof optionsOrCb === 'function' ? optionsOrCb : typeof cb === 'function' ? cb : undefined;
    if (callback) {
      const wrapped = (err: unknown, data: unknown) => {
        finish(record, err);
        return (callback as (e: unknown, d: unknown) => unknown)(err, data);
      };
      return typeof optionsOrCb === 'function'
        ? original.call(this, command, wrapped)
        : original.call(this, command, optionsOrCb, wrapped);
    }
    const result = original.call(this, command, optionsOrCb) as Promise<unknown>;
    return result.then(
      (output) => {
        finish(record);
        return output;
      },
      (error: unknown) => {
        finish(record, error ?? new Error('rejected'));
        throw error;
      },
    );
  };
  (send as unknown as Record<symbol, SendFn>)[PATCHED] = original;
  return send;
}

/** Wraps `send` of one SDK base client class (idempotent). Use for a copy `installRecorder` cannot find. */
export function patchClientClass(clientClass: ClientClass): void {
  const proto = clientClass.prototype;
  if ((proto.send as unknown as Record<symbol, unknown>)[PATCHED]) {
    patchedClasses.add(clientClass);
    return;
  }
  if (typeof proto.send !== 'function') throw new Error('IAM recorder: this class has no send method to wrap');
  proto.send = wrapSend(proto.send);
  patchedClasses.add(clientClass);
}

/** Every `node_modules` directory from `start` up to the filesystem root. */
function nodeModulesDirs(start: string): string[] {
  const dirs: string[] = [];
  let dir = path.resolve(start);
  for (;;) {
    dirs.push(path.join(dir, 'node_modules'));
    const parent = path.dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}

/**
 * The files defining `Client` that the installed SDK clients load, one per distinct copy.
 * Only paths are resolved here; the caller loads them with this module's own `require` so that
 * under jest they are the same module instances the code under test gets.
 */
export function sdkClientBaseModules(roots: string[] = [process.cwd(), __dirname]): string[] {
  const found = new Set<string>();
  for (const nodeModules of [...new Set(roots.flatMap(nodeModulesDirs))]) {
    let names: string[];
    try {
      names = readdirSync(path.join(nodeModules, '@aws-sdk')).filter((n) => n.startsWith('client-'));
    } catch {
      continue;
    }
    for (const name of names) {
      const packageJson = path.join(nodeModules, '@aws-sdk', name, 'package.json');
      const fromClient = createRequire(packageJson);
      for (const base of ['@smithy/core/client', '@smithy/smithy-client']) {
        try {
          found.add(fromClient.resolve(base));
        } catch {
          // this client uses the other layout
        }
      }
    }
  }
  return [...found].sort();
}

/**
 * Wraps `send` of every SDK base client class found (idempotent; cheap). Call it before the
 * handlers make calls; it does not matter whether their clients already exist.
 * Returns the module files patched.
 */
export function installRecorder(options: { roots?: string[] } = {}): string[] {
  const files = sdkClientBaseModules(options.roots);
  if (files.length === 0) throw new Error('IAM recorder: found no @aws-sdk/client-* package to instrument');
  for (const file of files) {
    const mod = require(file) as { Client?: ClientClass };
    if (!mod.Client?.prototype) throw new Error(`IAM recorder: ${file} exports no Client class`);
    patchClientClass(mod.Client);
  }
  return files;
}

/** Restores the original `send` of every class patched. */
export function uninstallRecorder(): void {
  for (const cls of patchedClasses) {
    const original = (cls.prototype.send as unknown as Record<symbol, SendFn>)[PATCHED];
    if (original) cls.prototype.send = original;
  }
  patchedClasses.clear();
}

/** Whether calls through this client instance are recorded (false e.g. when aws-sdk-client-mock replaced send). */
export function isRecorded(client: object): boolean {
  const send = (client as SdkClientLike).send;
  return typeof send === 'function' && Boolean((send as unknown as Record<symbol, unknown>)[PATCHED]);
}

/** Installs the recorder if needed, forgets earlier records and starts recording. */
export function startRecording(): void {
  installRecorder();
  records = [];
  pending = new Set();
  seq = 0;
  recording = true;
}

/** Waits until every record's region is resolved; returns all records so far. */
export async function settled(): Promise<RecordedCall[]> {
  while (pending.size > 0) await Promise.all([...pending]);
  return records.slice();
}

/** Stops recording; resolves with every record, regions resolved. */
export async function stopRecording(): Promise<RecordedCall[]> {
  recording = false;
  return settled();
}

/** The records so far (a copy of the list; regions may still be resolving — see `settled()`). */
export function calls(): RecordedCall[] {
  return records.slice();
}

export function isRecording(): boolean {
  return recording;
}

/** The calls one actor made. */
export function callsBy(actor: string, from: RecordedCall[] = records): RecordedCall[] {
  return from.filter((c) => c.actor === actor);
}

/**
 * Records made from an aws-sdk-client-mock stub's history (those calls bypass the recorder).
 * `mock` is what `mockClient(...)` returns; every call it answered is attributed to `actor`.
 */
export async function recordMockedCalls(
  mock: { calls(): { args: unknown[]; thisValue?: unknown }[] },
  actor: string | undefined,
): Promise<RecordedCall[]> {
  const out: RecordedCall[] = [];
  for (const call of mock.calls()) {
    const command = call.args[0] as SdkCommandLike;
    const client = (call.thisValue ?? {}) as SdkClientLike;
    out.push({ seq: 0, actor, ...callOf(client, command), region: await resolveRegion(client), ok: true });
  }
  return out;
}
