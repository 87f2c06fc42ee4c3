/**
 * Checks recorded SDK calls against the IAM roles their functions get when deployed, with
 * `@cloud-copilot/iam-simulate` (AGPL-3.0: a dev dependency for tests and the local harness only,
 * never imported by functions/ or bundled).
 *
 * Each call becomes one or more authorization requests (local/iam/resources.ts): the action, the
 * real resource ARN, and the request context (aws:RequestedRegion, iam:PassedToService,
 * ecs:cluster, ...). Each request is simulated against the actor's role's inline policies (identity
 * policies; no SCPs or permission boundaries), plus the resource's own policy where the template
 * defines one (KMS key policy, SNS topic policy). Calls with no actor (the harness's own) are skipped.
 */
import { runSimulation, runUnsafeSimulation, type RunSimulationResults } from '@cloud-copilot/iam-simulate';
import type { RecordedCall } from './recorder';
import {
  authorizationRequests,
  isMapped,
  UnmappedActionError,
  validateAuthorizationRequest,
  type AuthorizationRequest,
  type AwsEnvironment,
  type ContextValue,
} from './resources';
import type { PolicyDocument, PolicyStatement, ResolvedRole } from './roles';

/** What a call needs for evaluation: the recorder's records fit, and so do hand-built calls. */
export type EvaluableCall = Pick<RecordedCall, 'actor' | 'action' | 'input'> &
  Partial<Pick<RecordedCall, 'region' | 'ok' | 'seq'>> & {
    /** A call an AWS service makes with the actor's credentials: that service's principal (see resources.ts). */
    via?: string;
    /** Why the call is made (hand-written lists: the documentation it comes from), shown with a denial. */
    because?: string;
  };

/** A role as evaluate.ts needs it (ResolvedRole from roles.ts fits). */
export type RoleLike = Pick<ResolvedRole, 'arn' | 'policies'> & Partial<Pick<ResolvedRole, 'roleName' | 'logicalId'>>;

export interface EvaluateOptions extends AwsEnvironment {
  /** Resource policies by resource ARN (roles.ts `resourcePolicies`): KMS key policies, SNS topic policies. */
  resourcePolicies?: Record<string, PolicyDocument>;
  /** Lambda function ARN per actor, for the lambda:SourceFunctionArn context key. */
  functionArns?: Record<string, string>;
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | 'Error';

export interface CallDecision {
  actor: string;
  call: EvaluableCall;
  request: AuthorizationRequest;
  roleArn: string | undefined;
  decision: Decision;
  /** One line per relevant statement, or why there is none. */
  explanation: string[];
}

export interface EvaluationReport {
  decisions: CallDecision[];
  /** Every decision that is not Allowed. */
  denials: CallDecision[];
  ok: boolean;
  /** A readable list of the denials (empty string when none). */
  summary(): string;
}

// ---------------------------------------------------------------------------------------------
// Matching helpers (IAM wildcards: * any run, ? one character; actions case-insensitive)

function globRegex(pattern: string, flags = ''): RegExp {
  const body = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, flags);
}

export function actionMatches(pattern: string, action: string): boolean {
  return globRegex(pattern, 'i').test(action);
}

export function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === '*') return true;
  return globRegex(pattern).test(resource);
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function statementsOf(role: RoleLike): { policy: string; index: number; statement: PolicyStatement }[] {
  return role.policies.flatMap((p) => p.document.Statement.map((statement, index) => ({ policy: p.name, index, statement })));
}

function label(s: { policy: string; index: number; statement: PolicyStatement }): string {
  return s.statement.Sid ?? `${s.policy}#${s.index + 1}`;
}

function describeContext(condition: PolicyStatement['Condition'], context: Record<string, ContextValue>): string {
  if (!condition) return '';
  const parts: string[] = [];
  for (const [op, keys] of Object.entries(condition)) {
    for (const [key, want] of Object.entries(keys)) {
      const have = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
      parts.push(`${op} ${key}=${JSON.stringify(want)} (request: ${have === undefined ? 'absent' : JSON.stringify(have)})`);
    }
  }
  return parts.join('; ');
}

/** Why a request was not allowed, from the role's statements (independent of the simulator's internals). */
function explainDenial(role: RoleLike, request: AuthorizationRequest): string[] {
  const candidates = statementsOf(role).filter(
    (s) => s.statement.Effect === 'Allow' && list(s.statement.Action).some((a) => actionMatches(a, request.action)),
  );
  const denies = statementsOf(role).filter(
    (s) => s.statement.Effect === 'Deny' && list(s.statement.Action).some((a) => actionMatches(a, request.action)),
  );
  const lines: string[] = [];
  for (const s of denies) lines.push(`Deny statement ${label(s)} covers ${request.action}`);
  if (candidates.length === 0) {
    lines.push(`no statement in the role grants ${request.action}`);
    return lines;
  }
  for (const s of candidates) {
    const resources = list(s.statement.Resource);
    const resourceOk = resources.some((r) => resourceMatches(r, request.resource));
    const why = !resourceOk
      ? `resource does not match ${JSON.stringify(resources)}`
      : s.statement.Condition
        ? `condition not met: ${describeContext(s.statement.Condition, request.context)}`
        : 'matches action and resource';
    lines.push(`statement ${label(s)} grants ${request.action}: ${why}`);
  }
  return lines;
}

function callToAuthorize(call: EvaluableCall) {
  return {
    action: call.action,
    input: call.input,
    region: call.region ?? undefined,
    ...(call.via ? { via: call.via } : {}),
    ...(call.because ? { because: call.because } : {}),
  };
}

// ---------------------------------------------------------------------------------------------

function defaultKeyPolicy(partition: string, account: string): PolicyDocument {
  // The default key policy: the account (and so its IAM policies) may use the key.
  // https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  };
}

function resourcePolicyFor(request: AuthorizationRequest, options: EvaluateOptions): PolicyDocument | undefined {
  const explicit = options.resourcePolicies?.[request.resource];
  if (explicit) return explicit;
  if (request.action.startsWith('kms:') && request.resource.includes(`:${options.account}:key/`)) {
    return defaultKeyPolicy(options.partition ?? 'aws', options.account);
  }
  return undefined;
}

function resultOf(response: RunSimulationResults): { decision: Decision; error?: string } {
  if (response.resultType === 'error') return { decision: 'Error', error: JSON.stringify(response.errors) };
  return { decision: response.overallResult };
}

async function simulate(
  actor: string,
  role: RoleLike,
  request: AuthorizationRequest,
  options: EvaluateOptions,
): Promise<{ decision: Decision; error?: string }> {
  const partition = options.partition ?? 'aws';
  const roleName = role.roleName ?? role.arn.split('/').pop()!;
  const context: Record<string, ContextValue> = {
    ...request.context,
    'aws:PrincipalArn': role.arn,
    'aws:PrincipalAccount': options.account,
    'aws:PrincipalType': 'AssumedRole',
    'aws:PrincipalIsAWSService': 'false',
  };
  const sourceFunction = options.functionArns?.[actor];
  if (sourceFunction) context['lambda:SourceFunctionArn'] = sourceFunction;
  const resourcePolicy = resourcePolicyFor(request, options);
  const simulation = {
    request: {
      principal: `arn:${partition}:sts::${options.account}:assumed-role/${roleName}/${actor}`,
      action: request.action,
      // AWS-owned resources (public SSM parameters) have no account; the request is not cross-account.
      resource: { resource: request.resource, accountId: request.resource.split(':')[4] || options.account },
      contextVariables: context,
    },
    identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
  };
  const awsOwned = request.resource.startsWith('arn:') && request.resource.split(':')[4] === '';
  if (awsOwned) {
    // iam-simulate's resource-type check wants an account in the ARN; validateAuthorizationRequest
    // already checked this ARN against the reference pattern, so evaluate without that check.
    return { decision: runUnsafeSimulation(simulation, {}) };
  }
  return resultOf(await runSimulation(simulation, {}));
}

function callLabel(d: CallDecision): string {
  const via = d.request.via ? ` (made by ${d.request.via} with the caller's permissions: ${d.request.because ?? ''})` : d.request.because ? ` (${d.request.because})` : '';
  return `${d.actor} -> ${d.request.action} on ${d.request.resource}${via}`;
}

export function formatDecision(d: CallDecision): string {
  const head = `${d.decision}: ${callLabel(d)}${d.roleArn ? ` [role ${d.roleArn}]` : ''}`;
  return [head, ...d.explanation.map((l) => `    ${l}`)].join('\n');
}

/**
 * Evaluates every call made by an actor (calls with `actor: undefined` are the harness's and are
 * skipped). Throws when a call's action has no resource mapping, or when a mapping produces a
 * request that does not fit the Service Authorization Reference: both are bugs in the mapping.
 * An actor without a role in `roles` is a denial.
 */
export async function evaluateCalls(
  calls: EvaluableCall[],
  roles: Record<string, RoleLike>,
  options: EvaluateOptions,
): Promise<EvaluationReport> {
  const evaluated = calls.filter((c): c is EvaluableCall & { actor: string } => c.actor !== undefined);
  const unmapped = [...new Set(evaluated.filter((c) => !isMapped(c.action)).map((c) => `${c.action} (by ${c.actor})`))];
  if (unmapped.length) {
    throw new UnmappedActionError(unmapped.join(', '));
  }
  const decisions: CallDecision[] = [];
  const cache = new Map<string, { decision: Decision; error?: string }>();
  const validated = new Map<string, string[]>();
  for (const call of evaluated) {
    const requests = authorizationRequests(callToAuthorize(call), options);
    for (const request of requests) {
      const vkey = JSON.stringify([request.action, request.resource, request.resourceType, Object.keys(request.context).sort()]);
      if (!validated.has(vkey)) validated.set(vkey, await validateAuthorizationRequest(request));
      const problems = validated.get(vkey)!;
      if (problems.length) {
        throw new Error(`resource mapping for ${call.action} does not fit the Service Authorization Reference; fix local/iam/resources.ts:\n  ${problems.join('\n  ')}`);
      }
      const role = roles[call.actor];
      if (request.noAuthorization) {
        decisions.push({ actor: call.actor, call, request, roleArn: role?.arn, decision: 'Allowed', explanation: ['AWS does not authorize this call'] });
        continue;
      }
      if (!role) {
        decisions.push({ actor: call.actor, call, request, roleArn: undefined, decision: 'ImplicitlyDenied', explanation: [`no role known for actor ${call.actor}`] });
        continue;
      }
      const key = JSON.stringify([call.actor, role.arn, request.action, request.resource, request.context]);
      let result = cache.get(key);
      if (!result) {
        result = await simulate(call.actor, role, request, options);
        cache.set(key, result);
      }
      const explanation =
        result.decision === 'Allowed' ? [] : result.error ? [`simulation error: ${result.error}`] : explainDenial(role, request);
      decisions.push({ actor: call.actor, call, request, roleArn: role.arn, decision: result.decision, explanation });
    }
  }
  const denials = decisions.filter((d) => d.decision !== 'Allowed');
  return {
    decisions,
    denials,
    ok: denials.length === 0,
    summary: () =>
      denials.length === 0 ? '' : `${denials.length} AWS call(s) the deployed roles would refuse:\n${denials.map(formatDecision).join('\n')}`,
  };
}

/** Throws with the report's summary unless every evaluated call was allowed. */
export function assertAllAllowed(report: EvaluationReport): void {
  if (!report.ok) throw new Error(report.summary());
}

// ---------------------------------------------------------------------------------------------

/** Permissions the Lambda service exercises with a function's role without any SDK call in its code. */
export const LAMBDA_RUNTIME_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

export interface UnusedGrant {
  actor: string;
  roleArn: string;
  policy: string;
  sid: string;
  /** The action pattern as the statement writes it, e.g. `kms:GenerateDataKey*`. */
  action: string;
  resources: string[];
}

/**
 * Action patterns in each actor's role that no recorded call (nor a permission a service exercises
 * on the call's behalf, see resources.ts) used. Actors: those that made calls, or `options.actors`.
 * `options.assumeUsed` lists actions to count as used anyway (e.g. LAMBDA_RUNTIME_ACTIONS).
 */
export function unusedGrants(
  calls: EvaluableCall[],
  roles: Record<string, RoleLike>,
  options: AwsEnvironment & { actors?: string[]; assumeUsed?: string[] },
): UnusedGrant[] {
  const actors = options.actors ?? [...new Set(calls.map((c) => c.actor).filter((a): a is string => a !== undefined))];
  const out: UnusedGrant[] = [];
  for (const actor of actors) {
    const role = roles[actor];
    if (!role) continue;
    const used = new Set<string>(options.assumeUsed ?? []);
    for (const call of calls.filter((c) => c.actor === actor)) {
      used.add(call.action);
      if (!isMapped(call.action)) continue;
      for (const r of authorizationRequests(callToAuthorize(call), options)) used.add(r.action);
    }
    for (const s of statementsOf(role)) {
      if (s.statement.Effect !== 'Allow') continue;
      for (const pattern of list(s.statement.Action)) {
        if (![...used].some((a) => actionMatches(pattern, a))) {
          out.push({ actor, roleArn: role.arn, policy: s.policy, sid: label(s), action: pattern, resources: list(s.statement.Resource) });
        }
      }
    }
  }
  return out;
}

export function formatUnusedGrants(grants: UnusedGrant[]): string {
  return grants.map((g) => `${g.actor}: ${g.sid} grants ${g.action} on ${g.resources.join(', ')} — no call used it`).join('\n');
}
