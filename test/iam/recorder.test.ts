/**
 * The SDK call recorder: sees calls of clients created before it was installed, attributes them to
 * the actor around them (through awaits and concurrency), leaves results and errors untouched, and
 * says what it cannot see (aws-sdk-client-mock).
 */
import { ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  calls,
  callsBy,
  currentActor,
  installRecorder,
  isRecorded,
  recordMockedCalls,
  sdkClientBaseModules,
  servicePrefix,
  settled,
  startRecording,
  stopRecording,
  withActor,
} from '../../local/iam/recorder';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

// A dummy endpoint answering the JSON protocol of SSM and ECS.
let server: Server;
let endpoint: string;
const seenTargets: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      seenTargets.push(target);
      const input = body ? (JSON.parse(body) as { Name?: string }) : {};
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (target === 'AmazonSSM.GetParameter' && input.Name === '/missing') {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ParameterNotFound', message: 'not found' }));
        return;
      }
      if (target === 'AmazonSSM.GetParameter') {
        res.end(JSON.stringify({ Parameter: { Name: input.Name, Value: `value of ${input.Name}`, Version: 1 } }));
        return;
      }
      if (target === 'AmazonSSM.PutParameter') {
        res.end(JSON.stringify({ Version: 7 }));
        return;
      }
      res.end(JSON.stringify({ containerInstanceArns: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await stopRecording();
  await new Promise((resolve) => server.close(resolve));
});

// The port is known only once the server listens; the endpoint provider reads it at call time, so
// a client can be created at module load, like the handlers create theirs.
const dummyEndpoint = async () => ({ url: new URL(endpoint) });
const ssm = () => new SSMClient({ region: 'eu-west-1', endpoint: dummyEndpoint, credentials, maxAttempts: 1 });
const early = ssm();

describe('finding the SDK base class', () => {
  it('finds the Client copy every installed @aws-sdk/client-* package resolves', () => {
    const files = sdkClientBaseModules();
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(file).toMatch(/@smithy[\\/](core[\\/]dist-cjs[\\/]submodules[\\/]client|smithy-client)/);
  });

  it('maps client service ids to IAM prefixes', () => {
    expect(servicePrefix('SFN')).toBe('states');
    expect(servicePrefix('Auto Scaling')).toBe('autoscaling');
    expect(servicePrefix('CloudWatch Logs')).toBe('logs');
    expect(servicePrefix('SSM')).toBe('ssm');
  });
});

describe('recording', () => {
  beforeEach(() => startRecording());

  it('records calls of a client created before the recorder was installed, with action, input and region', async () => {
    expect(isRecorded(early)).toBe(true);
    const out = await withActor('checkRequest', () => early.send(new GetParameterCommand({ Name: '/p/ami/current' })));
    expect(out.Parameter?.Value).toBe('value of /p/ami/current');
    const [call] = await stopRecording();
    expect(call).toMatchObject({
      seq: 1,
      actor: 'checkRequest',
      serviceId: 'SSM',
      service: 'ssm',
      operation: 'GetParameter',
      action: 'ssm:GetParameter',
      input: { Name: '/p/ami/current' },
      region: 'eu-west-1',
      ok: true,
    });
  });

  it('resolves a region given as a function', async () => {
    const client = new ECSClient({ region: async () => 'ap-southeast-2', endpoint: dummyEndpoint, credentials, maxAttempts: 1 });
    await withActor('confirmRegistration', () => client.send(new ListContainerInstancesCommand({ cluster: 'c1' })));
    const [call] = await stopRecording();
    expect(call).toMatchObject({ action: 'ecs:ListContainerInstances', region: 'ap-southeast-2', input: { cluster: 'c1' } });
  });

  it('attributes calls to the actor around them through awaits and concurrent handlers', async () => {
    const client = ssm();
    const handler = async (name: string) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(currentActor()).toBe(name);
      await client.send(new GetParameterCommand({ Name: `/${name}/1` }));
      await Promise.resolve();
      await client.send(new GetParameterCommand({ Name: `/${name}/2` }));
    };
    await Promise.all([withActor('a', () => handler('a')), withActor('b', () => handler('b'))]);
    await client.send(new GetParameterCommand({ Name: '/harness' }));
    const all = await stopRecording();
    expect(callsBy('a', all).map((c) => c.input.Name)).toEqual(['/a/1', '/a/2']);
    expect(callsBy('b', all).map((c) => c.input.Name)).toEqual(['/b/1', '/b/2']);
    expect(all.filter((c) => c.actor === undefined).map((c) => c.input.Name)).toEqual(['/harness']);
  });

  it('records failures without changing the error the caller sees', async () => {
    const client = ssm();
    const error = await withActor('checkRequest', () => client.send(new GetParameterCommand({ Name: '/missing' }))).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ParameterNotFound' });
    expect((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(400);
    const [call] = await stopRecording();
    expect(call).toMatchObject({ action: 'ssm:GetParameter', ok: false, error: { name: 'ParameterNotFound' } });
  });

  it('keeps a copy of the input as sent, and works with callback-style send', async () => {
    const client = ssm();
    const input = { Name: '/p/ami/latest', Value: 'ami-1', Type: 'String' as const, Overwrite: true };
    const version = await new Promise<number | undefined>((resolve, reject) =>
      withActor('recordBakedAmi', () => client.send(new PutParameterCommand(input), (err, data) => (err ? reject(err) : resolve(data?.Version)))),
    );
    expect(version).toBe(7);
    input.Value = 'changed later';
    const [call] = await stopRecording();
    expect(call).toMatchObject({ actor: 'recordBakedAmi', action: 'ssm:PutParameter', ok: true, input: { Value: 'ami-1' } });
  });

  it('records nothing when not recording, and the call still goes through', async () => {
    await stopRecording();
    const before = seenTargets.length;
    await ssm().send(new GetParameterCommand({ Name: '/quiet' }));
    expect(seenTargets.length).toBe(before + 1);
    expect(calls()).toEqual([]);
  });

  it('is idempotent to install twice', async () => {
    installRecorder();
    installRecorder();
    await withActor('x', () => ssm().send(new GetParameterCommand({ Name: '/once' })));
    expect(await settled()).toHaveLength(1);
  });
});

describe('with aws-sdk-client-mock', () => {
  beforeEach(() => startRecording());

  it('does not see calls the mock answers (it replaces send on the client class); recordMockedCalls converts its history', async () => {
    const mock = mockClient(SSMClient);
    mock.on(GetParameterCommand).resolves({ Parameter: { Value: 'mocked' } });
    const client = new SSMClient({ region: 'us-west-2', credentials });
    expect(isRecorded(client)).toBe(false);
    const out = await withActor('checkRequest', () => client.send(new GetParameterCommand({ Name: '/m' })));
    expect(out.Parameter?.Value).toBe('mocked');
    expect(await settled()).toEqual([]);

    const converted = await recordMockedCalls(mock, 'checkRequest');
    expect(converted).toEqual([expect.objectContaining({ actor: 'checkRequest', action: 'ssm:GetParameter', region: 'us-west-2', input: { Name: '/m' } })]);

    mock.restore();
    expect(isRecorded(client)).toBe(true);
  });
});
