// Run by test/deploy/bundle-slimming.test.ts in its own node (esbuild does not run inside jest's
// sandbox): for each named SDK client, answers one call with every exception the service models,
// carrying a value of each of its members' types, with a message and without, through the packages as published and through a bundle whose schemas
// scripts/sdk-error-registrations.mjs rewrote, and prints for each client what the two threw where
// they differ, and which exceptions a rewrite that dropped every registration would have changed.
// Own properties left undefined (fields a class declares and the answer lacks) are not compared:
// the comparison is of the errors written out as JSON.
// Usage: node test/support/error-equivalence.mjs @aws-sdk/client-ssm [...]
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILE, literalSchemaKeys } from '../../scripts/sdk-schema-keys.mjs';
import { preparedSchemas, sdkSchemas } from '../../scripts/sdk-schemas.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const clients = process.argv.slice(2);
const dist = (client, file) => path.join(root, 'node_modules', client, 'dist-es', file);
const require = createRequire(path.join(root, 'package.json'));

/** What a client is called, one of its commands, its base exception and its wire protocol. */
function describeClient(client) {
  const index = readFileSync(dist(client, 'index.js'), 'utf8');
  const commands = readFileSync(dist(client, 'commands/index.js'), 'utf8');
  const config = readFileSync(dist(client, 'runtimeConfig.shared.js'), 'utf8');
  return {
    clientClass: index.match(/export \* from "\.\/(\w+Client)";/)[1],
    command: commands.match(/export \* from "\.\/(\w+Command)";/)[1],
    baseException: index.match(/export \{ (\w+ServiceException) \}/)[1],
    protocol: config.match(/protocol: config\?\.protocol \?\? (\w+)/)[1],
  };
}

/** Every exception the service models, read from its schemas: name, shape id, fault, HTTP status, query code. */
function modeledErrors(client) {
  return Object.values(require(client))
    .filter((schema) => Array.isArray(schema) && schema[0] === -3 && !String(schema[1]).startsWith('smithy.ts.sdk.synthetic.'))
    .map(([, namespace, name, traits, memberNames = [], memberSchemas = []]) => {
      const fault = traits?.error === 'server' ? 'server' : 'client';
      const status = Number(traits?.httpError ?? traits?.awsQueryError?.[1] ?? (fault === 'server' ? 500 : 400));
      const members = Object.fromEntries(
        memberNames.flatMap((member, i) => {
          const value = sampleOf(member, memberSchemas[i]);
          return value === undefined || /^message$/i.test(member) ? [] : [[member, value]];
        }),
      );
      return { name, shapeId: `${namespace}#${name}`, fault, status, queryCode: traits?.awsQueryError?.[0], members: { ...members, ...STRUCTURED_MEMBERS[name] } };
    });
}

/**
 * Members the samples below cannot write (structures), given for the exceptions that carry our
 * data: DynamoDB hands back the item a condition failed on, binary attributes as base64.
 */
const STRUCTURED_MEMBERS = {
  ConditionalCheckFailedException: { Item: { pk: { S: 'lock' }, blob: { B: 'AQID' } } },
  TransactionCanceledException: { CancellationReasons: [{ Code: 'ConditionalCheckFailed', Item: { blob: { B: 'AQID' } } }] },
};

/**
 * A value of a member's type as JSON carries it: what the registered schema would turn into
 * something else (bytes, a Date) shows, where a rewrite copies the JSON as it is. Members of a
 * structure, or with traits of their own, get none.
 */
function sampleOf(member, schema) {
  const simple = { 0: `${member} sample`, 1: 7, 2: true, 4: 1700000000, 5: '2023-11-14T22:13:20Z', 7: 1700000000, 21: 'AQID', 64: ['a', 'b'], 65: [1, 2], 128: { k: 'v' } };
  return typeof schema === 'number' ? simple[schema] : undefined;
}

/** The answer the service gives for this exception, in the client's protocol, with or without a message. */
function answerFor(protocol, error, message) {
  const requestId = 'req-0123';
  if (/Json/.test(protocol)) {
    const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId };
    // A service that kept its query error codes says so in this header (awsQueryCompatible).
    if (error.queryCode) headers['x-amzn-query-error'] = `${error.queryCode};${error.fault === 'server' ? 'Receiver' : 'Sender'}`;
    return { status: error.status, headers, body: JSON.stringify({ __type: error.shapeId, ...(message && { message }), ...error.members }) };
  }
  const code = error.queryCode ?? error.name;
  const body =
    protocol === 'AwsEc2QueryProtocol'
      ? `<Response><Errors><Error><Code>${code}</Code>${message ? `<Message>${message}</Message>` : ''}</Error></Errors><RequestID>${requestId}</RequestID></Response>`
      : `<ErrorResponse><Error><Type>${error.fault === 'server' ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code>${message ? `<Message>${message}</Message>` : ''}</Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: error.status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

const dropEveryRegistration = {
  name: 'drop-every-registration',
  setup(esbuild) {
    esbuild.onLoad({ filter: SCHEMA_FILE }, async (args) => ({ contents: literalSchemaKeys(readFileSync(args.path, 'utf8')).contents.replace(/^n0_registry\.registerError\(.*\n/gm, ''), loader: 'js' }));
  },
};

/** A module that sends each client's command and returns what it threw, written out as plain data. */
function probeSource(described) {
  const imports = clients.map((client, i) => `import { ${described[i].clientClass} as Client${i}, ${described[i].command} as Command${i}, ${described[i].baseException} as Base${i} } from '${client}';`);
  return `${imports.join('\n')}
import { HttpResponse } from '@smithy/core/transport';
import { Readable } from 'node:stream';
const clients = [${clients.map((_, i) => `[Client${i}, Command${i}, Base${i}]`).join(', ')}];
// One client of each kind, answering with whatever answer the call in progress set.
let answer;
const requestHandler = { handle: async () => ({ response: new HttpResponse({ statusCode: answer.status, headers: answer.headers, body: Readable.from([Buffer.from(answer.body)]) }) }) };
const made = clients.map(([Client]) => new Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1, requestHandler }));
export async function thrown(index, given) {
  const [, Command, Base] = clients[index];
  const client = made[index];
  answer = given;
  try {
    await client.send(new Command({}));
    return 'no error';
  } catch (error) {
    const fields = Object.fromEntries(Object.entries(error).sort(([a], [b]) => a.localeCompare(b)));
    return { isBase: error instanceof Base, name: error.name, message: error.message, fields };
  }
}
`;
}

const work = mkdtempSync(path.join(root, '.build', 'error-equivalence-'));
try {
  const described = clients.map(describeClient);
  writeFileSync(path.join(work, 'probe.mjs'), probeSource(described));
  const bundle = async (name, options) => {
    const outfile = path.join(work, `${name}.js`);
    await build({ entryPoints: [path.join(work, 'probe.mjs')], outfile, bundle: true, platform: 'node', target: 'node24', format: 'cjs', mainFields: ['module', 'main'], logLevel: 'error', ...options });
    return require(outfile);
  };
  const [published, rewritten, careless] = await Promise.all([
    // The clients as published: node loads the packages themselves.
    bundle('published', { packages: 'external' }),
    bundle('rewritten', { plugins: [sdkSchemas] }),
    // The control: a rewrite that drops every registration must show differences, or the comparison sees nothing.
    bundle('careless', { plugins: [dropEveryRegistration] }),
  ]);
  const errorsOf = clients.map(modeledErrors);
  const report = {};
  for (const [index, client] of clients.entries()) {
    const { protocol } = described[index];
    const errors = errorsOf[index];
    // How many registrations the rewrite drops, exactly as the bundles' plugin does.
    const { dropped: droppedNames } = await preparedSchemas(dist(client, 'schemas/schemas_0.js'));
    const dropped = droppedNames.length;
    const differences = [];
    const carelessDiffering = [];
    for (const error of errors) {
      for (const message of [`${error.name} happened`, undefined]) {
        const answer = answerFor(protocol, error, message);
        const before = JSON.stringify(await published.thrown(index, answer));
        // Where the rewrite drops nothing, its schemas module is the published one: nothing to compare.
        if (dropped > 0) {
          const after = JSON.stringify(await rewritten.thrown(index, answer));
          if (before !== after) differences.push({ error: error.name, message, published: JSON.parse(before), rewritten: JSON.parse(after) });
        }
        if (message !== undefined && before !== JSON.stringify(await careless.thrown(index, answer))) carelessDiffering.push(error.name);
      }
    }
    report[client] = { protocol, errors: errors.length, dropped, differences, carelessDiffering };
  }
  process.stdout.write(JSON.stringify(report));
} finally {
  rmSync(work, { recursive: true, force: true });
}
