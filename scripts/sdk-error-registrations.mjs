// Leaves most of the SDK's modeled exception classes out of the function bundles.
//
// Each client's generated `schemas/schemas_0.js` registers every exception its service models, at
// load time: `n0_registry.registerError(ParameterNotFound$, ParameterNotFound);` for all 140 of
// SSM's, 35 of DynamoDB's, and so on. Those calls are side effects, so esbuild keeps every
// exception class and schema in every function that creates a client, used or not: 70 to 85 KiB
// and about 17 ms of cold start in the largest functions (`make measure`).
//
// Without its registration, an error answer of a JSON protocol service still becomes an exception
// of the service's base class (`SSMServiceException`, which stays registered) with the same name,
// message, metadata and fields: the SDK builds it from the answer itself
// (`getErrorSchemaOrThrowBaseException` in @aws-sdk/core), copying the answer's fields as they are
// and taking the fault from the HTTP status. What is lost is the subclass, so nothing in functions/
// may test an AWS error with `instanceof`; it tests the name (`isAwsError`).
//
// Registrations stay where dropping them would change what a function sees:
// - the service's base exception (`_s_registry`);
// - exceptions with a member that is not a plain string: the registered schema turns a blob into
//   bytes, a timestamp into a Date, an attribute map into its values; the copy would keep the JSON
//   (DynamoDB's `ConditionalCheckFailedException` with its `Item`);
// - exceptions modeled as server faults: their `$fault` is "server" whatever the status, and the
//   functions retry on it (functions/lib/contracts/errors.ts);
// - exceptions modeled as retryable (`$retryable`): the SDK's retry strategy decides on that field;
// - exceptions whose query error code (`awsQueryError`) is not their name: the registered class,
//   not the code on the wire, names the exception (CloudWatch's `InternalServiceError` is thrown
//   as `InternalServiceFault`), and any exception named like such a code;
// - every exception of a client whose protocol is not JSON (the query protocols add fields, such
//   as `RequestId`, to a registered exception only).
// test/deploy/bundle-slimming.test.ts answers a call with every modeled exception of every client
// the functions use, through both bundles, and finds the thrown errors equal field by field.
const REGISTRATION = /^([A-Za-z0-9_$]+)_registry\.registerError\(([A-Za-z0-9_$]+)\$, \2\);\n/gm;
const CLASS = /^export class ([A-Za-z0-9_$]+) extends [A-Za-z0-9_$]+ \{\n([\s\S]*?)^\}/gm;
const ERROR_SCHEMA = /^export var ([A-Za-z0-9_$]+)\$ = \[-3,([\s\S]*?)\];$/gm;
const JSON_PROTOCOLS = new Set(['AwsJson1_0Protocol', 'AwsJson1_1Protocol']);

/** The names of the exception classes in a client's models/errors.js that carry `$retryable` or are server faults. */
export function retryableOrServerErrors(errorsSource) {
  return new Set(
    [...errorsSource.matchAll(CLASS)].filter((m) => /^\s+\$retryable\b/m.test(m[2]) || /^\s+\$fault = "server";/m.test(m[2])).map((m) => m[1]),
  );
}

/** The exceptions whose members are not all plain strings (schema 0), or whose members cannot be read as such. */
export function errorsWithTypedMembers(schemasSource) {
  const typed = new Set();
  for (const [, name, schema] of schemasSource.matchAll(ERROR_SCHEMA)) {
    // The schema's last element lists its members' schemas: `[0, 0]`, or `[0, () => AttributeMap]`.
    const members = schema.trim().match(/\[([^[\]]*)\]$/);
    if (members === null || !members[1].split(',').every((member) => member.trim() === '0' || member.trim() === '')) typed.add(name);
  }
  return typed;
}

/**
 * The exceptions whose query error code (the `awsQueryError` trait, its key written either way) is
 * not their own name, each with that code.
 */
export function renamedQueryErrors(schemasSource) {
  const keyConsts = [...schemasSource.matchAll(/^const ([A-Za-z0-9_$]+) = "awsQueryError";$/gm)].map((m) => m[1]);
  const keys = ['"awsQueryError"', ...keyConsts.map((name) => `\\[${name}\\]`)].join('|');
  // The code is the trait's first element: [`ResourceNotFound`, 404] (a template literal) or ["…", 404].
  const code = new RegExp('(?:' + keys + '): \\[[`"]([^`"]*)[`"]');
  const renamed = new Map();
  for (const [, name, schema] of schemasSource.matchAll(ERROR_SCHEMA)) {
    const found = schema.match(code);
    if (found !== null && found[1] !== name) renamed.set(name, found[1]);
  }
  return renamed;
}

/** The wire protocol a client's runtimeConfig.shared.js sets, or undefined when it cannot be read. */
export function clientProtocol(runtimeConfigSource) {
  return runtimeConfigSource?.match(/\bprotocol: config\?\.protocol \?\? ([A-Za-z0-9_$]+)/)?.[1];
}

/**
 * A client's schemas module without the registrations that can go (above), with the names dropped
 * and kept. Unless the client's errors module and JSON protocol are both known, nothing is dropped.
 */
export function withoutModeledErrorRegistrations({ schemas, errors, protocol }) {
  if (errors === undefined || !JSON_PROTOCOLS.has(protocol)) return { contents: schemas, dropped: [], kept: [] };
  const renamed = renamedQueryErrors(schemas);
  // An exception named like another's query code stays too: the SDK looks a code up by name first,
  // and only then by the trait (CloudWatch's `ResourceNotFound` and `DashboardNotFoundError`).
  const stay = new Set([...retryableOrServerErrors(errors), ...errorsWithTypedMembers(schemas), ...renamed.keys(), ...renamed.values()]);
  const dropped = [];
  const kept = [];
  const contents = schemas.replace(REGISTRATION, (line, registry, name) => {
    if (registry === '_s' || stay.has(name)) {
      kept.push(name);
      return line;
    }
    dropped.push(name);
    return '';
  });
  return { contents, dropped, kept };
}
