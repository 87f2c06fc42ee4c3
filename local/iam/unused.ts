/**
 * Grants no call uses, per role and statement, and the notes deploy/iam.js keeps for them.
 *
 * A grant is one action pattern of one statement (`UpdateStackRole / RollTheseStacksGroups /
 * autoscaling:CreateOrUpdateTags`). It is used when some call of an actor that has that role matches
 * the pattern and, when the call's resource is known, one of the statement's resources (conditions are
 * not compared: the evaluation decides those). Uses come from:
 * - the calls each handler can reach (handler-actions.ts; the action only, no resource),
 * - the on-behalf lists (on-behalf.ts; with their resources),
 * - and, for the report (scripts/iam-unused.ts), the calls the e2e scenarios recorded (with their
 *   real resources).
 * A grant no use covers must carry a note in deploy/iam.js naming the path that needs it
 * (`statement(..., { usedOn })`); test/iam/unused-grants.test.ts enforces that.
 */
import { BUILD_PROJECT_ENV, LAMBDA_ENV } from '../../functions/lib/contracts';
import { actionMatches, resourceMatches, type EvaluableCall } from './evaluate';
import { authorizationRequests, type AwsEnvironment } from './resources';
import type { PackagedIam, PolicyStatement, Template } from './roles';

export interface GrantUse {
  actor: string;
  action: string;
  /** The resource the call was authorized on; absent when only the action is known (static analysis). */
  resource?: string;
  /** Where the use comes from (handler code, an on-behalf list, a scenario). */
  source: string;
}

export interface Grant {
  /** Role logical id (UpdateStackRole). */
  role: string;
  sid: string;
  /** The action pattern as the statement writes it. */
  action: string;
  resources: string[];
}

export type Note = string | Record<string, string>;
/** deploy/iam.js grantNotes(): { <role logical id>: { <Sid>: usedOn } }. */
export type GrantNotes = Record<string, Record<string, Note>>;

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every Allow grant of every role of a packaged stage. */
export function grantsOf(iam: PackagedIam): Grant[] {
  return Object.values(iam.roles).flatMap((role) =>
    role.policies.flatMap((p) =>
      p.document.Statement.filter((s: PolicyStatement) => s.Effect === 'Allow').flatMap((s, i) =>
        list(s.Action).map((action) => ({ role: role.logicalId, sid: s.Sid ?? `${p.name}#${i + 1}`, action, resources: list(s.Resource) })),
      ),
    ),
  );
}

/** The role (logical id) each actor acts with: function keys and role logical ids. */
export function roleOfActor(iam: PackagedIam): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of Object.keys(iam.roles)) out[id] = id;
  for (const [key, role] of Object.entries(iam.functionRoles)) out[key] = role.logicalId;
  return out;
}

/** Uses from calls (recorded or hand-written): the requests each call makes AWS authorize. */
export function usesOfCalls(calls: EvaluableCall[], env: AwsEnvironment, source: string): GrantUse[] {
  return calls
    .filter((c): c is EvaluableCall & { actor: string } => c.actor !== undefined)
    .flatMap((c) =>
      authorizationRequests(
        { action: c.action, input: c.input, region: c.region ?? undefined, ...(c.via ? { via: c.via } : {}) },
        env,
      ).map((r) => ({ actor: c.actor, action: r.action, resource: r.resource, source })),
    );
}

/** Uses from the actions each function's handler can reach (no resources). */
export function usesOfHandlers(actions: Record<string, string[]>): GrantUse[] {
  return Object.entries(actions).flatMap(([actor, list]) => list.map((action) => ({ actor, action, source: 'handler code' })));
}

export function isUsed(grant: Grant, uses: GrantUse[], roles: Record<string, string>): boolean {
  return uses.some(
    (u) =>
      roles[u.actor] === grant.role &&
      actionMatches(grant.action, u.action) &&
      (u.resource === undefined || grant.resources.some((r) => resourceMatches(r, u.resource!))),
  );
}

export function noteOf(notes: GrantNotes, grant: Grant): string | undefined {
  const note = notes[grant.role]?.[grant.sid];
  if (note === undefined) return undefined;
  return typeof note === 'string' ? note : note[grant.action];
}

export interface UnusedGrant extends Grant {
  note: string | undefined;
}

/** Grants of a packaged stage no use covers, each with its note (undefined when it has none). */
export function unusedGrants(iam: PackagedIam, uses: GrantUse[], notes: GrantNotes): UnusedGrant[] {
  const roles = roleOfActor(iam);
  return grantsOf(iam)
    .filter((g) => !isUsed(g, uses, roles))
    .map((g) => ({ ...g, note: noteOf(notes, g) }));
}

/**
 * Noted grants that the given uses cover. With the on-behalf lists as uses, a hit is a note that
 * contradicts a documented call (test/iam/unused-grants.test.ts); with the handler code as uses it is
 * expected (notes also name the paths no scenario takes, for `make iam-report`).
 */
export function staleNotes(iam: PackagedIam, uses: GrantUse[], notes: GrantNotes): Grant[] {
  const roles = roleOfActor(iam);
  return grantsOf(iam).filter((g) => noteOf(notes, g) !== undefined && isUsed(g, uses, roles));
}

/**
 * The context deploy/iam.js built a packaged stage's roles from, read back from the template (the
 * functions' and the bake project's environment), so grantNotes() describes the same statements.
 */
export function iamContextOf(template: Template, iam: PackagedIam, tags: { managedByTag: string; managedBy: string }): Record<string, unknown> {
  const env = (logicalId: string) => template.Resources[logicalId]?.Properties?.Environment?.Variables ?? {};
  const check = env('CheckRequestLambdaFunction');
  const update = env('UpdateStackLambdaFunction');
  const bake = Object.fromEntries(
    (iam.resolve(template.Resources.BakeProject?.Properties?.Environment?.EnvironmentVariables ?? []) as { Name: string; Value: string }[]).map((v) => [v.Name, String(v.Value)]),
  );
  return {
    service: String(check[LAMBDA_ENV.serviceName]),
    stage: String(check[LAMBDA_ENV.stage]),
    parameterPrefix: String(check[LAMBDA_ENV.parameterPrefix]),
    waves: JSON.parse(String(iam.resolve(check[LAMBDA_ENV.clusterWaves]))),
    stackRoleArn: String(update[LAMBDA_ENV.stackRoleArn] ?? ''),
    ebsKmsKeyId: bake[BUILD_PROJECT_ENV.kmsKeyId] ?? '',
    buildVpcId: bake[BUILD_PROJECT_ENV.vpcId] ?? '',
    buildSubnetId: bake[BUILD_PROJECT_ENV.subnetId] ?? '',
    shareWith: JSON.parse(String(env('RecordBakedAmiLambdaFunction')[LAMBDA_ENV.shareWith] ?? '{}')),
    copyToRegions: JSON.parse(String(check[LAMBDA_ENV.copyToRegions] ?? '[]')),
    ...tags,
  };
}

export function formatUnused(stage: string, grants: UnusedGrant[]): string {
  return grants
    .map((g) => `${stage}: ${g.role} / ${g.sid} / ${g.action} on ${g.resources.join(', ')}\n    ${g.note ? `used on: ${g.note}` : 'NO NOTE: no call uses it and deploy/iam.js says no path that needs it'}`)
    .join('\n');
}
