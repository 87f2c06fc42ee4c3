/**
 * The IAM roles of a packaged pipeline, as AWS would see them once deployed: reads the CloudFormation
 * template `osls package` writes, resolves the intrinsic functions in each `AWS::IAM::Role`'s inline
 * policies (and in the KMS key and SNS topic policies) for a given account and region, and maps
 * each Lambda function key (`checkRequest`) to its role.
 *
 * Physical names CloudFormation would generate (a bucket without BucketName, a KMS key id) are
 * deterministic stand-ins, realistic in shape, so ARNs match the policies that reference them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fakeStackUuid } from './resources';

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
  Principal?: unknown;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

export interface ResolvedRole {
  logicalId: string;
  roleName: string;
  arn: string;
  /** Service principals the trust policy names, e.g. `lambda.amazonaws.com`. */
  assumedBy: string[];
  policies: { name: string; document: PolicyDocument }[];
}

export interface PackagedIam {
  account: string;
  region: string;
  partition: string;
  stackName: string;
  /** Every role, by logical id. */
  roles: Record<string, ResolvedRole>;
  /** Each Lambda function's role, by function key (`checkRequest`). */
  functionRoles: Record<string, ResolvedRole>;
  /** Lambda function ARN by function key. */
  functionArns: Record<string, string>;
  /** Resource policies by resource ARN: KMS key policies, SNS topic policies. */
  resourcePolicies: Record<string, PolicyDocument>;
  /** SNS topic ARN -> KMS key ARN, for topics with server-side encryption. */
  topicKeys: Record<string, string>;
  /** DynamoDB table name -> partition key attribute (for dynamodb:LeadingKeys). */
  tableHashKeys: Record<string, string>;
  /** Resolves any other template value the same way (for tests and harness wiring). */
  resolve(value: unknown): unknown;
}

export interface Template {
  Parameters?: Record<string, { Default?: unknown; Type?: string }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Resources: Record<string, { Type: string; Properties?: any; Condition?: string }>;
  Outputs?: Record<string, { Value?: unknown; Export?: { Name?: unknown } }>;
}

export interface ResolveOptions {
  account: string;
  region: string;
  partition?: string;
  /** Default: `<service>-<stage>` from the serverless exports (`sls-<stack>-...`), else `packaged-stack`. */
  stackName?: string;
  /** Values for template parameters (otherwise their Default). */
  parameters?: Record<string, string>;
}

export const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';

export function loadPackagedTemplate(dir: string): Template {
  return JSON.parse(readFileSync(path.join(dir, TEMPLATE_FILE), 'utf8')) as Template;
}

/** What an isolated package run leaves out of its copy of the project. */
const NOT_COPIED = new Set(['node_modules', '.git', '.build', '.serverless', 'test', 'docs']);

/**
 * `osls package --stage <stage> --package <dir> --param=...` (offline, no credentials; ~15-25 s).
 * Returns the template it wrote to `<dir>/cloudformation-template-update-stack.json`.
 *
 * Packaging bundles every function into `<project>/.build` first, so two package runs in the same
 * project at once (jest runs test files in parallel) trip over each other's files. By default this
 * therefore packages a throwaway copy of the project (sources only, node_modules symlinked), which
 * costs well under a second; `isolate: false` packages the project in place.
 */
export function packageWithOsls(dir: string, options: { stage?: string; params?: string[]; root?: string; isolate?: boolean } = {}): Template {
  const root = options.root ?? path.join(__dirname, '..', '..');
  const out = path.resolve(dir);
  let cwd = root;
  let copy: string | undefined;
  if (options.isolate ?? true) {
    copy = mkdtempSync(path.join(tmpdir(), 'osls-project-'));
    cpSync(root, copy, { recursive: true, filter: (src) => path.dirname(src) !== root || !NOT_COPIED.has(path.basename(src)) });
    symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    cwd = copy;
  }
  try {
    const result = spawnSync(
      path.join(root, 'node_modules', '.bin', 'osls'),
      ['package', '--stage', options.stage ?? 'ci', '--package', out, ...(options.params ?? []).map((p) => `--param=${p}`)],
      { cwd, encoding: 'utf8', env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } },
    );
    if (result.status !== 0) throw new Error(`osls package failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    if (copy) rmSync(copy, { recursive: true, force: true });
  }
  return loadPackagedTemplate(out);
}

/**
 * Serverless logical id -> function key: `CheckRequestLambdaFunction` -> `checkRequest`,
 * `MyDashfnLambdaFunction` -> `my-fn` (serverless writes `-` as Dash and `_` as Underscore; a key
 * that itself contains those words is ambiguous, so resolvePackagedIam prefers the FunctionName).
 */
export function functionKeyOf(logicalId: string): string {
  const prefix = logicalId.replace(/LambdaFunction$/, '');
  const key = prefix.replace(/Dash/g, '-').replace(/Underscore/g, '_');
  return key.charAt(0).toLowerCase() + key.slice(1);
}

function shortHash(text: string, length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
  const bytes = createHash('sha256').update(text).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

function fakeUuid(text: string): string {
  const h = createHash('sha1').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const NO_VALUE = Symbol('AWS::NoValue');

function inferStackName(template: Template): string {
  for (const output of Object.values(template.Outputs ?? {})) {
    const name = output.Export?.Name;
    if (typeof name === 'string') {
      const m = /^sls-(.+)-[A-Za-z0-9]+$/.exec(name);
      if (m) return m[1]!;
    }
  }
  return 'packaged-stack';
}

/** Resolves a packaged template's IAM for one account and region. */
export function resolvePackagedIam(template: Template, options: ResolveOptions): PackagedIam {
  const partition = options.partition ?? 'aws';
  const { account, region } = options;
  const stackName = options.stackName ?? inferStackName(template);
  const resources = template.Resources;
  const regional = (service: string, rest: string) => `arn:${partition}:${service}:${region}:${account}:${rest}`;

  /** CloudFormation's generated physical name: `<stack>-<LogicalId>-<suffix>`. */
  const generatedName = (logicalId: string, max = 64, lower = false) => {
    const suffix = shortHash(`${stackName}/${logicalId}`, 12);
    const name = `${stackName}-${logicalId}`.slice(0, max - suffix.length - 1) + `-${suffix}`;
    return lower ? name.toLowerCase() : name;
  };

  const pseudo: Record<string, string> = {
    'AWS::AccountId': account,
    'AWS::Region': region,
    'AWS::Partition': partition,
    'AWS::StackName': stackName,
    'AWS::StackId': regional('cloudformation', `stack/${stackName}/${fakeStackUuid(account, region, stackName)}`),
    'AWS::URLSuffix': partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
  };

  const resourceOf = (logicalId: string) => {
    const r = resources[logicalId];
    if (!r) throw new Error(`template has no resource ${logicalId}`);
    return r;
  };
  const prop = (logicalId: string, name: string): string | undefined => {
    const v = resourceOf(logicalId).Properties?.[name];
    return v === undefined ? undefined : String(resolve(v));
  };

  // Ref of a resource, per type (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/ "Return values").
  function ref(logicalId: string): string {
    if (logicalId in pseudo) return pseudo[logicalId]!;
    if (template.Parameters && logicalId in template.Parameters) {
      const value = options.parameters?.[logicalId] ?? template.Parameters[logicalId]!.Default;
      if (value === undefined) throw new Error(`template parameter ${logicalId} has no value; pass it in options.parameters`);
      return String(value);
    }
    const r = resourceOf(logicalId);
    switch (r.Type) {
      case 'AWS::SNS::Topic':
        return regional('sns', prop(logicalId, 'TopicName') ?? generatedName(logicalId, 256));
      case 'AWS::KMS::Key':
        return fakeUuid(`${stackName}/${logicalId}`);
      case 'AWS::S3::Bucket':
        return prop(logicalId, 'BucketName') ?? generatedName(logicalId, 63, true);
      case 'AWS::IAM::Role':
        return prop(logicalId, 'RoleName') ?? generatedName(logicalId, 64);
      case 'AWS::Lambda::Function':
        return prop(logicalId, 'FunctionName') ?? generatedName(logicalId, 64);
      case 'AWS::StepFunctions::StateMachine':
        return regional('states', `stateMachine:${prop(logicalId, 'StateMachineName') ?? generatedName(logicalId, 80)}`);
      case 'AWS::CodeBuild::Project':
        return prop(logicalId, 'Name') ?? generatedName(logicalId, 150);
      case 'AWS::DynamoDB::Table':
        return prop(logicalId, 'TableName') ?? generatedName(logicalId, 255);
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.${pseudo['AWS::URLSuffix']}/${account}/${prop(logicalId, 'QueueName') ?? generatedName(logicalId, 80)}`;
      case 'AWS::Logs::LogGroup':
        return prop(logicalId, 'LogGroupName') ?? generatedName(logicalId, 512);
      case 'AWS::Events::Rule':
        return prop(logicalId, 'Name') ?? generatedName(logicalId, 64);
      case 'AWS::SSM::Parameter':
        return prop(logicalId, 'Name') ?? `CFN-${generatedName(logicalId, 1000)}`;
      case 'AWS::Scheduler::Schedule':
        return prop(logicalId, 'Name') ?? generatedName(logicalId, 64);
      case 'AWS::IAM::ManagedPolicy':
        return `arn:${partition}:iam::${account}:policy/${prop(logicalId, 'ManagedPolicyName') ?? generatedName(logicalId, 128)}`;
      case 'AWS::Lambda::Version':
        return `${getAtt(String((resourceOf(logicalId).Properties?.FunctionName as { Ref?: string })?.Ref ?? ''), 'Arn')}:1`;
      default:
        throw new Error(`Ref of ${logicalId} (${r.Type}) is not modelled; add it to local/iam/roles.ts`);
    }
  }

  function getAtt(logicalId: string, attribute: string): string {
    const r = resourceOf(logicalId);
    const key = `${r.Type}.${attribute}`;
    switch (key) {
      case 'AWS::Lambda::Function.Arn':
        return regional('lambda', `function:${ref(logicalId)}`);
      case 'AWS::IAM::Role.Arn': {
        const rolePath = prop(logicalId, 'Path') ?? '/';
        return `arn:${partition}:iam::${account}:role${rolePath}${ref(logicalId)}`;
      }
      case 'AWS::IAM::Role.RoleId':
        return `AROA${shortHash(`${stackName}/${logicalId}`, 17)}`;
      case 'AWS::SNS::Topic.TopicArn':
        return ref(logicalId);
      case 'AWS::SNS::Topic.TopicName':
        return ref(logicalId).split(':').pop()!;
      case 'AWS::KMS::Key.Arn':
        return regional('kms', `key/${ref(logicalId)}`);
      case 'AWS::KMS::Key.KeyId':
        return ref(logicalId);
      case 'AWS::S3::Bucket.Arn':
        return `arn:${partition}:s3:::${ref(logicalId)}`;
      case 'AWS::StepFunctions::StateMachine.Arn':
        return ref(logicalId);
      case 'AWS::StepFunctions::StateMachine.Name':
        return ref(logicalId).split(':').pop()!;
      case 'AWS::CodeBuild::Project.Arn':
        return regional('codebuild', `project/${ref(logicalId)}`);
      case 'AWS::DynamoDB::Table.Arn':
        return regional('dynamodb', `table/${ref(logicalId)}`);
      case 'AWS::SQS::Queue.Arn':
        return regional('sqs', ref(logicalId).split('/').pop()!);
      case 'AWS::SQS::Queue.QueueName':
        return ref(logicalId).split('/').pop()!;
      case 'AWS::Logs::LogGroup.Arn':
        return regional('logs', `log-group:${ref(logicalId)}:*`);
      case 'AWS::Events::Rule.Arn':
        return regional('events', `rule/${ref(logicalId)}`);
      case 'AWS::Scheduler::Schedule.Arn':
        return regional('scheduler', `schedule/default/${ref(logicalId)}`);
      default:
        throw new Error(`Fn::GetAtt ${logicalId}.${attribute} (${r.Type}) is not modelled; add it to local/iam/roles.ts`);
    }
  }

  function condition(name: string): boolean {
    const expr = template.Conditions?.[name];
    if (expr === undefined) throw new Error(`template has no condition ${name}`);
    return Boolean(resolve(expr));
  }

  function sub(text: string, vars: Record<string, unknown>): string {
    return text.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
      if (bang) return `\${${name}}`;
      if (name in vars) return String(resolve(vars[name]));
      if (name.includes('.')) {
        const [id, ...attr] = name.split('.');
        return getAtt(id!, attr.join('.'));
      }
      return ref(name);
    });
  }

  function resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(resolve).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]!;
      switch (fn) {
        case 'Ref':
          return arg === 'AWS::NoValue' ? NO_VALUE : ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
          return getAtt(String(id), String(resolve(attr)));
        }
        case 'Fn::Sub':
          return Array.isArray(arg) ? sub(String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>) : sub(String(arg), {});
        case 'Fn::Join': {
          const [sep, list] = arg as [string, unknown];
          return (resolve(list) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (resolve(list) as unknown[])[Number(resolve(index))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, unknown];
          return String(resolve(text)).split(sep);
        }
        case 'Fn::If': {
          const [cond, yes, no] = arg as [string, unknown, unknown];
          return resolve(condition(cond) ? yes : no);
        }
        case 'Fn::Equals': {
          const [a, b] = arg as [unknown, unknown];
          return JSON.stringify(resolve(a)) === JSON.stringify(resolve(b));
        }
        case 'Fn::Not':
          return !resolve((arg as unknown[])[0]);
        case 'Fn::And':
          return (arg as unknown[]).every((c) => resolve(c));
        case 'Fn::Or':
          return (arg as unknown[]).some((c) => resolve(c));
        case 'Condition':
          return condition(String(arg));
        case 'Fn::FindInMap': {
          const [map, top, second] = (arg as unknown[]).map(resolve);
          const v = template.Mappings?.[String(map)]?.[String(top)]?.[String(second)];
          if (v === undefined) throw new Error(`Fn::FindInMap ${String(map)}.${String(top)}.${String(second)} not found`);
          return v;
        }
        case 'Fn::GetAZs':
          return ['a', 'b', 'c'].map((z) => `${region}${z}`);
        case 'Fn::ImportValue':
          throw new Error(`Fn::ImportValue ${JSON.stringify(arg)} cannot be resolved from one template`);
        default:
          if (fn.startsWith('Fn::')) throw new Error(`${fn} is not modelled; add it to local/iam/roles.ts`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const r = resolve(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  const active = (r: { Condition?: string }) => !r.Condition || condition(r.Condition);

  const roles: Record<string, ResolvedRole> = {};
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::IAM::Role' || !active(r)) continue;
    const props = (r.Properties ?? {}) as Record<string, any>;
    if (props.ManagedPolicyArns || props.PermissionsBoundary) {
      throw new Error(`role ${logicalId} uses managed policies or a permissions boundary, which local/iam does not model yet`);
    }
    const trust = resolve(props.AssumeRolePolicyDocument) as PolicyDocument | undefined;
    const assumedBy = (trust?.Statement ?? []).flatMap((s) => {
      const service = (s.Principal as { Service?: string | string[] } | undefined)?.Service;
      return service === undefined ? [] : [service].flat();
    });
    roles[logicalId] = {
      logicalId,
      roleName: ref(logicalId),
      arn: getAtt(logicalId, 'Arn'),
      assumedBy,
      policies: ((props.Policies ?? []) as unknown[]).map((p) => {
        const policy = resolve(p) as { PolicyName: string; PolicyDocument: PolicyDocument };
        return { name: policy.PolicyName, document: policy.PolicyDocument };
      }),
    };
  }

  const functionRoles: Record<string, ResolvedRole> = {};
  const functionArns: Record<string, string> = {};
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || !active(r)) continue;
    // Serverless names functions <service>-<stage>-<key> (the stack name); fall back to the logical id.
    const name = r.Properties?.FunctionName === undefined ? undefined : String(resolve(r.Properties.FunctionName));
    const key = name?.startsWith(`${stackName}-`) ? name.slice(stackName.length + 1) : functionKeyOf(logicalId);
    const roleRef = r.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const roleId = roleRef?.['Fn::GetAtt']?.[0];
    if (!roleId || !roles[roleId]) throw new Error(`function ${logicalId}: Role is not Fn::GetAtt of a role in this template (${JSON.stringify(roleRef)})`);
    functionRoles[key] = roles[roleId];
    functionArns[key] = getAtt(logicalId, 'Arn');
  }

  const resourcePolicies: Record<string, PolicyDocument> = {};
  const topicKeys: Record<string, string> = {};
  const tableHashKeys: Record<string, string> = {};
  for (const [logicalId, r] of Object.entries(resources)) {
    if (!active(r)) continue;
    if (r.Type === 'AWS::KMS::Key' && r.Properties?.KeyPolicy) {
      resourcePolicies[getAtt(logicalId, 'Arn')] = resolve(r.Properties.KeyPolicy) as PolicyDocument;
    }
    if (r.Type === 'AWS::SNS::TopicPolicy') {
      const document = resolve(r.Properties.PolicyDocument) as PolicyDocument;
      for (const topic of resolve(r.Properties.Topics) as string[]) resourcePolicies[topic] = document;
    }
    if (r.Type === 'AWS::SNS::Topic' && r.Properties?.KmsMasterKeyId !== undefined) {
      const key = String(resolve(r.Properties.KmsMasterKeyId));
      topicKeys[ref(logicalId)] = key.startsWith('arn:') || key.startsWith('alias/') ? key : regional('kms', `key/${key}`);
    }
    if (r.Type === 'AWS::DynamoDB::Table') {
      const schema = resolve(r.Properties?.KeySchema ?? []) as { AttributeName: string; KeyType: string }[];
      const hash = schema.find((k) => k.KeyType === 'HASH');
      if (hash) tableHashKeys[ref(logicalId)] = hash.AttributeName;
    }
  }

  return { account, region, partition, stackName, roles, functionRoles, functionArns, resourcePolicies, topicKeys, tableHashKeys, resolve };
}

/** The options evaluate.ts needs from a packaged template (spread them into EvaluateOptions). */
export function evaluationContext(iam: PackagedIam) {
  return {
    account: iam.account,
    region: iam.region,
    partition: iam.partition,
    resourcePolicies: iam.resourcePolicies,
    topicKeys: iam.topicKeys,
    tableHashKeys: iam.tableHashKeys,
    functionArns: iam.functionArns,
  };
}

/** `rolesByActor` for evaluate.ts: every function key, plus each role's logical id (StateMachineRole, ...). */
export function rolesByActor(iam: PackagedIam): Record<string, ResolvedRole> {
  return { ...iam.roles, ...iam.functionRoles };
}
