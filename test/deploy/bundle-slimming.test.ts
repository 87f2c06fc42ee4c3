/**
 * What scripts/build.mjs does to keep each function's bundle to the code it runs, checked on the
 * bundles themselves:
 * - sdk-schema-keys: the SDK's schemas are the same values after the rewrite, an EC2 function no
 *   longer carries EC2's unused schemas, and a bundled EC2 client still reads EC2's XML answers
 *   exactly as the published client does;
 * - sdk-error-registrations: every exception every client of the functions models reaches a
 *   function the same without its class, and no function tests an AWS error by its class;
 * - lambda-credentials: a bundle takes credentials from the environment, and says plainly when
 *   there are none;
 * - own-source-map: a stack trace from our code still names the TypeScript line.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { decode } from '@jridgewell/sourcemap-codec';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { SourceMap } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { withoutModeledErrorRegistrations } from '../../scripts/sdk-error-registrations.mjs';
import { literalSchemaKeys } from '../../scripts/sdk-schema-keys.mjs';

const ROOT = path.join(__dirname, '..', '..');
// Inside the repository, so esbuild finds node_modules from the probe as it does from a function.
const PROBE_DIR = path.join(ROOT, '.build', 'test-probes', `bundle-slimming-${process.pid}`);
const PROBE_BUNDLE = path.join(PROBE_DIR, 'out', 'index.js');
const THROW_LINE = 14;

const PROBE_SOURCE = `import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { installSourceMappedStacks } from ${JSON.stringify(path.join(ROOT, 'functions', 'lib', 'source-mapped-stacks'))};

export const mapped = installSourceMappedStacks();
const ec2 = new EC2Client({});
const ssm = new SSMClient({ endpoint: 'not a url' });

export const credentials = () => ec2.config.credentials();
export const describeImages = () => ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
export const failInsideTheSdk = () => ssm.send(new GetParameterCommand({ Name: 'x' }));

export function fail(): never {
  throw new Error('probe failure');
}
`;

/** Every TypeScript file under functions/, with its text. */
function functionSources(): { file: string; text: string }[] {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '--', 'functions/*.ts'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  return files.map((file) => ({ file, text: readFileSync(path.join(ROOT, file), 'utf8') }));
}

/** The SDK clients the functions import. */
const FUNCTION_CLIENTS = [...new Set(functionSources().flatMap(({ text }) => [...text.matchAll(/from '(@aws-sdk\/client-[a-z0-9-]+)'/g)].map((m) => m[1]!)))].sort();

const SDK_CLIENTS = Object.keys((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies).filter((name) =>
  name.startsWith('@aws-sdk/client-'),
);

/** What EC2 answers to DescribeImages, with the nested lists (items, tags, block devices) whose element names are xmlName traits. */
const DESCRIBE_IMAGES_XML = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <imagesSet>
    <item>
      <imageId>ami-0123456789abcdef0</imageId>
      <imageLocation>123456789012/ecs-ami-pipeline-dev-1</imageLocation>
      <imageState>available</imageState>
      <imageOwnerId>123456789012</imageOwnerId>
      <creationDate>2026-11-20T10:00:00.000Z</creationDate>
      <isPublic>false</isPublic>
      <architecture>x86_64</architecture>
      <imageType>machine</imageType>
      <name>ecs-ami-pipeline-dev-1</name>
      <rootDeviceType>ebs</rootDeviceType>
      <rootDeviceName>/dev/xvda</rootDeviceName>
      <blockDeviceMapping>
        <item>
          <deviceName>/dev/xvda</deviceName>
          <ebs>
            <snapshotId>snap-0123456789abcdef0</snapshotId>
            <volumeSize>30</volumeSize>
            <deleteOnTermination>true</deleteOnTermination>
            <volumeType>gp3</volumeType>
            <encrypted>true</encrypted>
          </ebs>
        </item>
      </blockDeviceMapping>
      <tagSet>
        <item><key>Pipeline</key><value>ecs-ami-pipeline</value></item>
        <item><key>Stage</key><value>dev</value></item>
      </tagSet>
      <virtualizationType>hvm</virtualizationType>
      <hypervisor>xen</hypervisor>
      <enaSupport>true</enaSupport>
    </item>
  </imagesSet>
</DescribeImagesResponse>`;

const FAKE_KEYS = { AWS_ACCESS_KEY_ID: 'AKIDPROBE', AWS_SECRET_ACCESS_KEY: 'probe-secret', AWS_SESSION_TOKEN: 'probe-token' };

/**
 * Runs `code` in a fresh node that has required the probe bundle as `probe`; resolves with its exit
 * status and output. Asynchronous: the EC2 endpoint the bundle calls is served by this process.
 */
function inBundle(code: string, env: Record<string, string>, nodeOptions: string[] = []): Promise<{ status: number; stdout: string; stderr: string }> {
  const script = `const probe = require(${JSON.stringify(PROBE_BUNDLE)}); (async () => { ${code} })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(3); });`;
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeOptions, '-e', script], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', ...env } }, (error, stdout, stderr) =>
      resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let ec2Endpoint: Server;
let endpointUrl: string;

beforeAll(async () => {
  rmSync(PROBE_DIR, { recursive: true, force: true });
  mkdirSync(PROBE_DIR, { recursive: true });
  writeFileSync(path.join(PROBE_DIR, 'probe.ts'), PROBE_SOURCE);
  execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `import { bundleFunction } from ${JSON.stringify(path.join(ROOT, 'scripts', 'build.mjs'))}; await bundleFunction(${JSON.stringify(path.join(PROBE_DIR, 'probe.ts'))}, ${JSON.stringify(PROBE_BUNDLE)});`],
    { cwd: ROOT },
  );
  ec2Endpoint = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' }).end(DESCRIBE_IMAGES_XML));
  });
  await new Promise<void>((resolve) => ec2Endpoint.listen(0, '127.0.0.1', resolve));
  endpointUrl = `http://127.0.0.1:${(ec2Endpoint.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => ec2Endpoint?.close(resolve));
  rmSync(PROBE_DIR, { recursive: true, force: true });
});

describe('sdk-schema-keys', () => {
  it('writes a computed key as its string only where the key names a string constant of the file', () => {
    const source = ['const _xN = "xmlName";', 'const _n = 3;', 'export var A$ = [3, n0, "A", 0, [_m], [[0, { [_xN]: _m, [_n]: 1, [other]: 2 }]]];'].join('\n');
    const { contents, rewritten } = literalSchemaKeys(source);
    expect(rewritten).toBe(1);
    expect(contents).toContain('{ "xmlName": _m, [_n]: 1, [other]: 2 }');
  });

  it('leaves every schema of every SDK client the functions use the same value', () => {
    const report = JSON.parse(
      execFileSync(process.execPath, [path.join(ROOT, 'test', 'support', 'schema-equivalence.mjs'), ...SDK_CLIENTS], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }),
    ) as Record<string, { same: boolean; keysRewritten: number; schemas: number }>;
    expect(Object.keys(report).sort()).toEqual([...SDK_CLIENTS].sort());
    expect(Object.entries(report).filter(([, client]) => !client.same)).toEqual([]);
    // EC2 is the client the rewrite is for; were nothing rewritten there, the check above proves nothing.
    expect(report['@aws-sdk/client-ec2']!.keysRewritten).toBeGreaterThan(1000);
  }, 120_000);

  it('leaves out the EC2 schemas a function never uses', () => {
    const bundle = readFileSync(PROBE_BUNDLE, 'utf8');
    expect(bundle).toContain('DescribeImagesResult');
    // Shapes of operations the probe never calls.
    for (const unused of ['AcceleratorCount', 'CreateFleetError', 'ClientVpnEndpoint']) expect(bundle).not.toContain(`"${unused}"`);
  });

  it('reads an EC2 answer in the bundle exactly as the published client reads it', async () => {
    const published = await new EC2Client({ endpoint: endpointUrl, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }).send(
      new DescribeImagesCommand({ Owners: ['self'] }),
    );
    const run = await inBundle('const { $metadata, ...answer } = await probe.describeImages(); process.stdout.write(JSON.stringify(answer));', { ...FAKE_KEYS, AWS_ENDPOINT_URL: endpointUrl });
    expect(run.stderr).toBe('');
    const { $metadata: _metadata, ...expected } = published;
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(JSON.stringify(expected)));
    // Not two empty answers: the nested lists were read.
    expect(expected.Images?.[0]).toMatchObject({
      ImageId: 'ami-0123456789abcdef0',
      Tags: [{ Key: 'Pipeline', Value: 'ecs-ami-pipeline' }, { Key: 'Stage', Value: 'dev' }],
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0', Encrypted: true } }],
    });
  });
});

describe('sdk-error-registrations', () => {
  const schemas = [
    'const _s_registry = new TypeRegistry(_s);',
    'export var SvcServiceException$ = [-3, _s, "SvcServiceException", 0, [], []];',
    '_s_registry.registerError(SvcServiceException$, SvcServiceException);',
    'const n0_registry = new TypeRegistry(n0);',
    'export var NotFound$ = [-3, n0, _NF, { [_e]: _c }, [_m], [0]];',
    'n0_registry.registerError(NotFound$, NotFound);',
    'export var Busy$ = [-3, n0, _B, { [_e]: _c }, [_m], [0]];',
    'n0_registry.registerError(Busy$, Busy);',
    'export var GoneFault$ = [-3, n0, _GF, { "awsQueryError": [`Gone`, 410], [_e]: _c }, [_m], [0]];',
    'n0_registry.registerError(GoneFault$, GoneFault);',
    'export var Gone$ = [-3, n0, _G, { "awsQueryError": [`Gone`, 410], [_e]: _c }, [_m], [0]];',
    'n0_registry.registerError(Gone$, Gone);',
    'export var Conflict$ = [-3, n0, _C,', '    { [_e]: _c },', '    [_m, _I],', '    [0, () => AttributeMap]', '];',
    'n0_registry.registerError(Conflict$, Conflict);',
    'export var Internal$ = [-3, n0, _In, { [_e]: _se }, [_m], [0]];',
    'n0_registry.registerError(Internal$, Internal);',
    'export var Invalid$ = [-3, n0, _Iv,', '    { [_e]: _c },', '    [_m, _R],', '    [0, 0]', '];',
    'n0_registry.registerError(Invalid$, Invalid);',
    '',
  ].join('\n');
  const errors = [
    'export class NotFound extends __BaseException {', '    $fault = "client";', '}',
    'export class Busy extends __BaseException {', '    $fault = "client";', '    $retryable = {};', '}',
    'export class Internal extends __BaseException {', '    $fault = "server";', '}',
    '',
  ].join('\n');

  it('drops the registrations a function sees the same without, and keeps the others', () => {
    const { contents, dropped, kept } = withoutModeledErrorRegistrations({ schemas, errors, protocol: 'AwsJson1_0Protocol' });
    expect(dropped).toEqual(['NotFound', 'Invalid']);
    // The base exception, a retryable one, one renamed by its query code, the one named like that
    // code, one with a member that is not a string, and a server fault.
    expect(kept).toEqual(['SvcServiceException', 'Busy', 'GoneFault', 'Gone', 'Conflict', 'Internal']);
    expect(contents).not.toContain('registerError(NotFound$');
    expect(contents).toContain('export var NotFound$ = ');
  });

  it('drops nothing for a protocol it was not proven on, or without the errors module', () => {
    for (const client of [{ schemas, errors, protocol: 'AwsQueryProtocol' }, { schemas, errors: undefined, protocol: 'AwsJson1_0Protocol' }, { schemas, errors, protocol: undefined }]) {
      expect(withoutModeledErrorRegistrations(client)).toEqual({ contents: schemas, dropped: [], kept: [] });
    }
  });

  it("answers every modeled exception of every client the functions use the same as the published client, field by field", () => {
    const report = JSON.parse(
      execFileSync(process.execPath, [path.join(ROOT, 'test', 'support', 'error-equivalence.mjs'), ...FUNCTION_CLIENTS], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }),
    ) as Record<string, { errors: number; dropped: number; differences: unknown[]; carelessDiffering: string[] }>;
    expect(Object.keys(report).sort()).toEqual(FUNCTION_CLIENTS);
    expect(Object.entries(report).filter(([, client]) => client.differences.length > 0)).toEqual([]);
    // Not an empty comparison: SSM's exceptions were dropped and compared ...
    expect(report['@aws-sdk/client-ssm']).toMatchObject({ errors: expect.any(Number), dropped: expect.any(Number) });
    expect(report['@aws-sdk/client-ssm']!.dropped).toBeGreaterThan(100);
    expect(report['@aws-sdk/client-ssm']!.errors).toBeGreaterThan(report['@aws-sdk/client-ssm']!.dropped);
    // ... and the comparison sees what dropping every registration would change: an item's binary
    // attribute left base64, $retryable, a name from a query code, the query protocols' RequestId.
    expect(report['@aws-sdk/client-dynamodb']!.carelessDiffering).toEqual(expect.arrayContaining(['ConditionalCheckFailedException', 'TransactionCanceledException', 'ReplicatedWriteConflictException']));
    expect(report['@aws-sdk/client-cloudwatch']!.carelessDiffering).toContain('InternalServiceFault');
    expect(report['@aws-sdk/client-cloudformation']!.carelessDiffering.length).toBe(report['@aws-sdk/client-cloudformation']!.errors);
  }, 120_000);

  it('leaves the dropped exception classes out of a bundle, and keeps the base exception', () => {
    const bundle = readFileSync(PROBE_BUNDLE, 'utf8');
    expect(bundle).toContain('SSMServiceException');
    for (const dropped of ['ParameterVersionLabelLimitExceeded', 'InvalidDocumentSchemaVersion']) expect(bundle).not.toContain(dropped);
  });

  it('leaves no function testing an AWS error by its class', () => {
    // Every class a client exports from its errors module, whatever its name (SSM's ParameterNotFound, SFN's ExecutionDoesNotExist).
    const exceptionClasses = (client: string): Set<string> => {
      const errorsModule = path.join(ROOT, 'node_modules', client, 'dist-es', 'models', 'errors.js');
      const text = existsSync(errorsModule) ? readFileSync(errorsModule, 'utf8') : '';
      return new Set([...text.matchAll(/^export class (\w+)/gm)].map((m) => m[1]!));
    };
    const classImports = functionSources().flatMap(({ file, text }) =>
      [...text.matchAll(/^import (?!type\b)([\s\S]*?) from '(@aws-sdk\/client-[a-z0-9-]+)';/gm)].flatMap(([, clause, client]) => {
        if (/^\*\s+as\b/.test(clause!.trim())) return [`${file}: every export of ${client}`];
        const classes = exceptionClasses(client!);
        return (/\{([^}]*)\}/.exec(clause!)?.[1] ?? '')
          .split(',')
          .map((name) => name.trim().split(/\s+as\s+/)[0]!)
          .filter((name) => name !== '' && !name.startsWith('type ') && (classes.has(name) || /(Exception|Fault|Error)$/.test(name)))
          .map((name) => `${file}: ${name}`);
      }),
    );
    expect(classImports).toEqual([]);
  });
});

describe('lambda-credentials', () => {
  it('leaves the default chain (profiles, SSO, instance metadata) out of the bundle', () => {
    const bundle = readFileSync(PROBE_BUNDLE, 'utf8');
    expect(bundle).not.toContain('defaultProvider::fromIni');
    expect(bundle).not.toContain('Could not load credentials from any providers');
    expect(bundle).toContain('reads credentials only the way Lambda provides them');
  });

  it("takes the execution role's credentials from the environment, as Lambda provides them", async () => {
    const run = await inBundle('process.stdout.write(JSON.stringify(await probe.credentials()));', FAKE_KEYS);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ accessKeyId: 'AKIDPROBE', secretAccessKey: 'probe-secret', sessionToken: 'probe-token' });
  });

  it('says where it looked when the environment holds no credentials, and does not go on to a profile', async () => {
    const run = await inBundle('await probe.credentials();', { HOME: PROBE_DIR, AWS_PROFILE: 'default' });
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and AWS_CONTAINER_CREDENTIALS_FULL_URI/_RELATIVE_URI are all unset');
  });
});

describe('own-source-map', () => {
  it("names no source of ours for a frame inside the SDK, even where our code comes before it in the bundle", () => {
    const bundle = readFileSync(PROBE_BUNDLE, 'utf8');
    const payload = JSON.parse(readFileSync(`${PROBE_BUNDLE}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0];
    const map = new SourceMap(payload);
    const firstOwn = decode(payload.mappings).findIndex((line) => line.some((segment) => segment.length > 1));
    // Code of @aws-sdk/core's error handling, which every failed AWS call runs through.
    const positions = ['getErrorSchemaOrThrowBaseException', 'x-amzn-query-error'].map((needle) => {
      const lines = bundle.slice(0, bundle.indexOf(needle)).split('\n');
      return { needle, line: lines.length - 1, column: lines.at(-1)!.length };
    });
    // Not vacuous: our code is mapped on an earlier line, so a lookup without the unmapped segments would name it.
    expect(positions.every(({ line }) => line > firstOwn && firstOwn >= 0)).toBe(true);
    for (const { needle, line, column } of positions) expect([needle, map.findEntry(line, column)]).toEqual([needle, expect.not.objectContaining({ originalSource: expect.anything() })]);
  });

  it('maps a stack frame of our code to its TypeScript line, and lists no dependency as a source', async () => {
    const run = await inBundle('probe.fail();', FAKE_KEYS);
    expect(run.status).toBe(3);
    expect(run.stderr).toMatch(new RegExp(`^Error: probe failure\\n    at \\S+ \\(\\S*probe\\.ts:${THROW_LINE}:\\d+\\)`));
    const map = JSON.parse(readFileSync(`${PROBE_BUNDLE}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.map((source) => path.basename(source)).sort()).toEqual(['lambda-credentials.ts', 'probe.ts', 'source-mapped-stacks.ts']);
  });

  it("names a frame inside the SDK by its place in index.js when the stack is written out, and Node's own mapping is not needed", async () => {
    const run = await inBundle("await probe.failInsideTheSdk();", FAKE_KEYS);
    expect(run.status).toBe(3);
    expect(run.stderr).toMatch(/^TypeError: Invalid URL/);
    const frames = run.stderr.split('\n').filter((line) => line.startsWith('    at '));
    expect(frames.some((frame) => frame.includes(`${PROBE_BUNDLE}:`))).toBe(true);
    expect(frames.filter((frame) => /\.ts:\d+/.test(frame))).toEqual([]);
  });

  it('leaves the stacks to Node when it maps them itself (--enable-source-maps)', async () => {
    const run = await inBundle('process.stdout.write(String(probe.mapped)); probe.fail();', FAKE_KEYS, ['--enable-source-maps']);
    expect(run.stdout).toBe('false');
    expect(run.stderr).toMatch(new RegExp(`probe\\.ts:${THROW_LINE}:\\d+`));
  });
});
