/**
 * A Step Functions endpoint for whoever watches runs (the CLI, a test): requests go to moto, whose
 * executions never run (it records them as RUNNING, then ABORTED, with a fixed history), and the
 * answers about runs come from what the in-process runner really did:
 *  - StartExecution, once moto accepted it, records the execution and has the harness run it;
 *  - DescribeExecution, ListExecutions, GetExecutionHistory and StopExecution answer from those
 *    records (status, output or error, the states entered);
 *  - SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat answer the tokens local task handlers
 *    wait on (local/task-tokens.ts), with Step Functions' errors for a token nobody waits on.
 * Clients reach it through AWS_ENDPOINT_URL_SFN (the SDK's variable for the service id "SFN"):
 * only the endpoint differs, as with the CloudFormation proxy.
 */
import { readBody } from './http-body';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionRecord, ExecutionRecords, RecordedEvent } from './execution-records';
import { taskTokens as defaultTokens, type AnswerResult, type TaskTokenRegistry } from './task-tokens';

export interface StepFunctionsProxyOptions {
  motoEndpoint: string;
  records: ExecutionRecords;
  /** Whether the harness runs executions of this state machine (others stay moto's). */
  runs: (stateMachineArn: string) => boolean;
  /** Runs an execution moto accepted, to its end; records it as it goes. */
  run: (executionArn: string) => Promise<unknown>;
  tokens?: TaskTokenRegistry;
  /** Where a run that could not even start is reported. */
  log?: (message: string) => void;
  /** 0 (default): any free port. */
  port?: number;
}

export interface StepFunctionsProxy {
  endpoint: string;
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;

interface Reply {
  status: number;
  body: Json;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
// Step Functions pages at most 1000 and 100 by default, for both lists this proxy pages itself.
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** Step Functions' JSON error shape; the SDK reads the name from __type. */
function awsError(name: string, message: string): Reply {
  return { status: 400, body: { __type: name, message } };
}

const seconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

function wireEvent(event: RecordedEvent): Json {
  return { ...event, timestamp: seconds(event.timestamp) };
}

/** A page of `items` from the offset in `nextToken`: the proxy's own tokens, opaque to clients. */
function page<T>(items: T[], request: Json): { items: T[]; nextToken?: string } | Reply {
  const size = request.maxResults === undefined || request.maxResults === 0 ? DEFAULT_PAGE : Number(request.maxResults);
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE) return awsError('ValidationException', `maxResults must be from 0 to ${MAX_PAGE}`);
  const start = request.nextToken === undefined ? 0 : Number(Buffer.from(String(request.nextToken), 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0 || start > items.length) return awsError('InvalidToken', `Invalid Token: '${String(request.nextToken)}'`);
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}) };
}

function overlay(moto: Json, record: ExecutionRecord): Json {
  const { output: _output, error: _error, cause: _cause, stopDate: _stopDate, ...rest } = moto;
  return {
    ...rest,
    status: record.status,
    ...(record.stopDate ? { stopDate: seconds(record.stopDate) } : {}),
    ...(record.output !== undefined ? { output: record.output, outputDetails: { included: true } } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(record.cause ? { cause: record.cause } : {}),
  };
}

export async function startStepFunctionsProxy(options: StepFunctionsProxyOptions): Promise<StepFunctionsProxy> {
  const { motoEndpoint, records } = options;
  const tokens = options.tokens ?? defaultTokens;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const raw = await readBody(request);
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
    // moto needs the original headers: the account comes from the access key in Authorization.
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)) as [string, string][],
    );
    const toMoto = (actionName: string, body: Json) =>
      fetch(motoEndpoint, { method: 'POST', headers: { ...headers, 'x-amz-target': `AWSStepFunctions.${actionName}` }, body: JSON.stringify(body) });
    const send = (reply: Reply) => {
      response.writeHead(reply.status, { 'content-type': JSON_CONTENT_TYPE, ...(reply.status >= 400 ? { 'x-amzn-errortype': String(reply.body.__type) } : {}) });
      response.end(JSON.stringify(reply.body));
    };
    const forward = async () => {
      const upstream = await fetch(`${motoEndpoint}${request.url ?? '/'}`, {
        method: request.method,
        headers,
        body: request.method === 'GET' || request.method === 'HEAD' ? undefined : raw,
      });
      return { status: upstream.status, contentType: upstream.headers.get('content-type') ?? JSON_CONTENT_TYPE, text: await upstream.text() };
    };
    const pass = (upstream: { status: number; contentType: string; text: string }) => {
      response.writeHead(upstream.status, { 'content-type': upstream.contentType });
      response.end(upstream.text);
    };

    let body: Json = {};
    try {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Json) : {};
    } catch {
      pass(await forward());
      return;
    }
    const executionArn = typeof body.executionArn === 'string' ? body.executionArn : '';
    const record = executionArn ? records.get(executionArn) : undefined;

    switch (action) {
      case 'StartExecution': {
        const upstream = await forward();
        const stateMachineArn = String(body.stateMachineArn ?? '');
        if (upstream.status === 200 && options.runs(stateMachineArn)) {
          const started = JSON.parse(upstream.text) as { executionArn: string; startDate: number };
          // Recorded before the answer goes out: a client that asks right away must see RUNNING, not moto's fixed history.
          if (!records.get(started.executionArn)) {
            records.begin({
              executionArn: started.executionArn,
              stateMachineArn,
              name: started.executionArn.split(':').pop() ?? '',
              input: typeof body.input === 'string' ? body.input : '{}',
              startDate: new Date(started.startDate * 1000),
            });
            options.run(started.executionArn).catch((error: unknown) => {
              const message = error instanceof Error ? error.message : String(error);
              options.log?.(`${started.executionArn}: the harness could not run it: ${message}`);
              records.end(started.executionArn, { status: 'FAILED', error: { name: 'States.Runtime', message } });
            });
          }
        }
        pass(upstream);
        return;
      }
      case 'DescribeExecution': {
        const upstream = await forward();
        if (upstream.status !== 200 || !record) return pass(upstream);
        return send({ status: 200, body: overlay(JSON.parse(upstream.text) as Json, record) });
      }
      case 'GetExecutionHistory': {
        if (!record) return pass(await forward());
        const events = body.reverseOrder === true ? [...record.events].reverse() : record.events;
        const paged = page(events, body);
        if ('status' in paged) return send(paged);
        return send({ status: 200, body: { events: paged.items.map(wireEvent), ...(paged.nextToken ? { nextToken: paged.nextToken } : {}) } });
      }
      case 'ListExecutions': {
        // Every page from moto, then the real statuses, the filter on them, and the paging here:
        // moto's own filter would match its RUNNING/ABORTED, not what the runs did.
        const { statusFilter, maxResults: _max, nextToken: _token, ...query } = body;
        const all: Json[] = [];
        let next: unknown;
        do {
          const upstream = await toMoto('ListExecutions', { ...query, ...(next ? { nextToken: next } : {}) });
          const text = await upstream.text();
          if (upstream.status !== 200) {
            response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? JSON_CONTENT_TYPE });
            response.end(text);
            return;
          }
          const listed = JSON.parse(text) as { executions?: Json[]; nextToken?: string };
          all.push(...(listed.executions ?? []));
          next = listed.nextToken;
        } while (next);
        const executions = all
          .map((e) => {
            const known = records.get(String(e.executionArn));
            return known ? { ...e, status: known.status, ...(known.stopDate ? { stopDate: seconds(known.stopDate) } : {}) } : e;
          })
          .filter((e) => statusFilter === undefined || e.status === statusFilter)
          // Newest first, as Step Functions lists them.
          .sort((a, b) => Number(b.startDate ?? 0) - Number(a.startDate ?? 0));
        const paged = page(executions, body);
        if ('status' in paged) return send(paged);
        return send({ status: 200, body: { executions: paged.items, ...(paged.nextToken ? { nextToken: paged.nextToken } : {}) } });
      }
      case 'StopExecution': {
        if (!record) return pass(await forward());
        // moto learns of the stop when the runner ends the run there; the record says ABORTED now.
        records.stop(executionArn, typeof body.error === 'string' ? body.error : undefined, typeof body.cause === 'string' ? body.cause : undefined);
        return send({ status: 200, body: { stopDate: seconds(record.stopDate) } });
      }
      case 'SendTaskSuccess':
      case 'SendTaskFailure':
      case 'SendTaskHeartbeat':
        return send(answerToken(action, body, tokens));
      default:
        return pass(await forward());
    }
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) return response.end();
      response.writeHead(500, { 'content-type': JSON_CONTENT_TYPE });
      response.end(JSON.stringify({ __type: 'InternalError', message: `step functions proxy: ${error instanceof Error ? error.message : String(error)}` }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function answerToken(action: 'SendTaskSuccess' | 'SendTaskFailure' | 'SendTaskHeartbeat', body: Json, tokens: TaskTokenRegistry): Reply {
  const token = typeof body.taskToken === 'string' ? body.taskToken : '';
  // The API's own bounds on a token; past them AWS refuses the request before looking the token up.
  if (token.length < 1 || token.length > 2048) {
    return awsError('ValidationException', "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and 2048");
  }
  let result: AnswerResult;
  if (action === 'SendTaskSuccess') {
    const output = typeof body.output === 'string' ? body.output : '';
    try {
      JSON.parse(output);
    } catch {
      return awsError('InvalidOutput', 'Invalid State Machine Output: the output is not valid JSON');
    }
    result = tokens.answerTask(token, { output });
  } else if (action === 'SendTaskFailure') {
    result = tokens.answerTask(token, {
      error: typeof body.error === 'string' ? body.error : '',
      ...(typeof body.cause === 'string' ? { cause: body.cause } : {}),
    });
  } else {
    result = tokens.heartbeat(token);
  }
  if (result === 'TaskDoesNotExist') return awsError('TaskDoesNotExist', 'Task Does Not Exist: nothing waits on this token any more');
  if (result === 'InvalidToken') return awsError('InvalidToken', "Invalid Token: 'Invalid token'");
  return { status: 200, body: {} };
}
