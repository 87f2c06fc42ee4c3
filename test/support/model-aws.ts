/**
 * An in-memory model of the AWS account the pipeline runs in, for running the REAL handlers and the
 * REAL state machine definition in-process: SSM, EC2 images, DynamoDB (the run ledger, with
 * conditional writes), Step Functions executions, SNS, and a model fleet of cluster stacks
 * (CloudFormation stack, Auto Scaling group and ECS cluster in one) whose updates progress as the
 * pipeline polls them and end as each stack's behaviour says.
 *
 * Every SDK call of the handlers lands here (command-router.ts). The model also keeps what
 * the invariants need: every change to the fleet and who made it while holding which lock, every
 * message to ops and which run it was about.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { CopyImageCommand, DescribeImagesCommand, EC2Client, type Image, type Tag } from '@aws-sdk/client-ec2';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListServicesCommand,
} from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { routeCommands } from './command-router';
import { REGION as HOME_REGION } from '../../local/state-machine';
import { AMI_TAGS, MANAGED_BY_VALUE, RUN_LEDGER, recommendedBaseAmiParameter, type ClusterTarget } from '../../functions/lib/contracts';

/** Who is calling: the run (execution ARN) and the function, set by the harness around each handler call. */
export interface Actor {
  executionArn: string;
  fn: string;
}
export const actor = new AsyncLocalStorage<Actor>();

export interface StoredVersion {
  version: number;
  value: string;
  dataType?: string;
  description?: string;
}

export interface PublishedMessage {
  subject: string;
  message: string;
  attributes: Record<string, string>;
  /** The run the message is about (the notifying run, or the run an alert reports). */
  executionArn?: string;
  fn?: string;
}

/** How a cluster stack behaves when the pipeline rolls it. Defaults: everything works at once. */
export interface StackBehaviour {
  /** The stack does not exist. */
  missing?: boolean;
  /** Someone else's update keeps the stack busy for this many looks (Infinity: for ever). */
  busyLooks?: number;
  /** How the pipeline's update to a new image ends. */
  update?: 'ok' | 'rolled-back' | 'rollback-failed' | 'never-finishes';
  /** Looks (DescribeStacks calls) an update stays in progress before it ends. */
  settleLooks?: number;
  /** Whether instances on a new image register with ECS: at once, after some looks, or never. */
  registration?: 'ok' | 'late' | 'never';
  lateLooks?: number;
  /** How the pipeline's rollback to the confirmed image ends. */
  rollback?: 'ok' | 'fails' | 'never-registers';
  /** Looks the pipeline's rollback stays in progress before it ends (default: settleLooks). */
  rollbackSettleLooks?: number;
  /** Why a failed update or rollback failed, as CloudFormation's events say it (worst cases make it long). */
  failureReason?: string;
}

export interface ModelStack {
  target: ClusterTarget;
  image: string;
  status: string;
  desired: number;
  /** The cluster's container instances: the image each runs and whether its agent is ACTIVE and connected. */
  instances: { ami: string; healthy: boolean }[];
  events: { timestamp: Date; status: string; reason?: string; token?: string }[];
  pending?: { token: string; from: string; to: string; kind: 'rollout' | 'rollback'; looksLeft: number };
  busyLooks: number;
  registrationLooks: number;
  behaviour: StackBehaviour;
}

/** A change to the fleet or to what the fleet is recorded to run, with who made it and who held the lock. */
export interface Mutation {
  kind: 'update-stack' | 'cluster-record' | 'current-ami';
  target: string;
  value: string;
  by?: Actor;
  lockOwner?: string;
  /** For a change of ami/current: every cluster's recorded image at that moment. */
  recordsAtWrite?: Record<string, string>;
  seq: number;
}

function cfnError(message: string): CloudFormationServiceException {
  return new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

export class ModelAws {
  readonly parameters = new Map<string, StoredVersion[]>();
  readonly images = new Map<string, Image>();
  readonly ledger = new Map<string, Record<string, AttributeValue>>();
  readonly executions = new Map<string, { status: string; input?: string }>();
  readonly published: PublishedMessage[] = [];
  readonly stacks = new Map<string, ModelStack>();
  readonly mutations: Mutation[] = [];
  /** CopyImage calls, by destination region (copyToRegions). */
  readonly copyCalls: { region: string; input: unknown; imageId?: string }[] = [];
  /** CloudWatch alarms by name (a soak watches them). */
  readonly alarms = new Map<string, { state: string; reason?: string }>();
  /** ECS services by cluster name: desired and running task counts. */
  readonly services = new Map<string, { name: string; desired: number; running: number }[]>();
  /** Values of `aws:ec2:image` parameters SSM will refuse after answering (asynchronous validation). */
  readonly ssmRefuses = new Set<string>();
  /**
   * Switches the fleet lock off (a safeguard disabled, to show the invariant that catches it): the
   * lock item always reads as absent and its conditional writes always succeed.
   */
  lockDisabled = false;
  private seq = 0;
  private readonly mocks: { restore(): void }[] = [];

  constructor() {
    const ssm = routeCommands(SSMClient);
    const ec2 = routeCommands(EC2Client);
    const ddb = routeCommands(DynamoDBClient);
    const sfn = routeCommands(SFNClient);
    const sns = routeCommands(SNSClient);
    const cfn = routeCommands(CloudFormationClient);
    const asg = routeCommands(AutoScalingClient);
    const ecs = routeCommands(ECSClient);
    const cloudwatch = routeCommands(CloudWatchClient);
    this.mocks.push(ssm, ec2, ddb, sfn, sns, cfn, asg, ecs, cloudwatch);

    cloudwatch.on(DescribeAlarmsCommand, ({ AlarmNames }: { AlarmNames: string[] }) => ({
      MetricAlarms: AlarmNames.filter((n) => this.alarms.has(n)).map((n) => ({
        AlarmName: n,
        StateValue: this.alarms.get(n)!.state,
        StateReason: this.alarms.get(n)!.reason,
      })),
      CompositeAlarms: [],
    }));
    ecs.on(ListServicesCommand, ({ cluster }: { cluster: string }) => ({
      serviceArns: (this.services.get(cluster) ?? []).map((s) => `arn:aws:ecs:us-east-1:123456789012:service/${cluster}/${s.name}`),
    }));
    ecs.on(DescribeServicesCommand, ({ cluster, services }: { cluster: string; services: string[] }) => ({
      services: services.map((arn) => {
        const s = (this.services.get(cluster) ?? []).find((x) => arn.endsWith(`/${x.name}`))!;
        return { serviceName: s.name, serviceArn: arn, status: 'ACTIVE', desiredCount: s.desired, runningCount: s.running };
      }),
    }));

    // Parameters and images of other regions than the home one (copyToRegions) are kept as `<region>:<name or id>`.
    const regional = async (getClient: () => { config: { region: () => Promise<string> } }, key: string) => {
      const region = await getClient().config.region();
      return region === HOME_REGION ? key : `${region}:${key}`;
    };
    ssm.on(GetParameterCommand, async ({ Name: asked }: { Name: string }, getClient) => {
      const Name = await regional(getClient, asked);
      const latest = this.parameters.get(Name)?.at(-1);
      if (!latest) throw new ParameterNotFound({ message: `Parameter ${Name} not found.`, $metadata: {} });
      return { Parameter: { Name: asked, Value: latest.value, Version: latest.version } };
    });
    ssm.on(GetParametersCommand, ({ Names }: { Names: string[] }) => ({
      Parameters: Names.flatMap((Name) => {
        const latest = this.parameters.get(Name)?.at(-1);
        return latest ? [{ Name, Value: latest.value, Version: latest.version }] : [];
      }),
      InvalidParameters: Names.filter((n) => !this.parameters.has(n)),
    }));
    ssm.on(GetParameterHistoryCommand, ({ Name }: { Name: string }) => {
      const versions = this.parameters.get(Name);
      if (!versions) throw new ParameterNotFound({ message: `Parameter ${Name} not found.`, $metadata: {} });
      return { Parameters: versions.map((v) => ({ Name, Value: v.value, Version: v.version })) };
    });
    ssm.on(PutParameterCommand, async (asked: { Name: string; Value: string; DataType?: string; Description?: string }, getClient) => {
      const input = { ...asked, Name: await regional(getClient, asked.Name) };
      const versions = this.parameters.get(input.Name) ?? [];
      const version = (versions.at(-1)?.version ?? 0) + 1;
      // SSM answers, then validates an aws:ec2:image value; a refused one never becomes a version.
      if (input.DataType === 'aws:ec2:image' && this.ssmRefuses.has(input.Value)) return { Version: version };
      this.noteParameterWrite(input.Name, input.Value);
      this.put(input.Name, input.Value, input.DataType, input.Description);
      return { Version: version };
    });
    ec2.on(DescribeImagesCommand, async ({ ImageIds, Filters }: { ImageIds?: string[]; Filters?: { Name: string; Values: string[] }[] }, getClient) => {
      if (ImageIds?.length) {
        return { Images: (await Promise.all(ImageIds.map(async (id) => this.images.get(await regional(getClient, id))))).filter(Boolean) };
      }
      // By tags (and state), in the client's region: how a copy is found by what it is a copy of.
      const prefix = await regional(getClient, '');
      const matches = (image: Image) =>
        (Filters ?? []).every((f) =>
          f.Name === 'state'
            ? f.Values.includes(image.State ?? '')
            : f.Name === 'architecture'
            ? f.Values.includes(image.Architecture ?? 'x86_64')
            : f.Name.startsWith('tag:') && f.Values.includes(image.Tags?.find((t) => t.Key === f.Name.slice(4))?.Value ?? ''),
        );
      const here = [...this.images.entries()].filter(([key]) => (prefix ? key.startsWith(prefix) : !key.includes(':')));
      return { Images: here.map(([, image]) => image).filter(matches) };
    });
    ec2.on(CopyImageCommand, async (input: { SourceImageId: string; SourceRegion: string; Name?: string; TagSpecifications?: { ResourceType: string; Tags: Tag[] }[] }, getClient) => {
      const region = await getClient().config.region();
      this.copyCalls.push({ region, input });
      const source = this.images.get(input.SourceRegion === HOME_REGION ? input.SourceImageId : `${input.SourceRegion}:${input.SourceImageId}`);
      if (!source) throw new Error(`CopyImage: no image ${input.SourceImageId} in ${input.SourceRegion}`);
      // The same ClientToken returns the same copy, as EC2 does.
      const earlier = this.copyCalls.find((c) => c !== this.copyCalls.at(-1) && c.region === region && (c.input as { ClientToken?: string }).ClientToken === (input as { ClientToken?: string }).ClientToken);
      const imageId = earlier?.imageId ?? `ami-0e${String(this.copyCalls.length).padStart(15, '0')}`;
      this.copyCalls.at(-1)!.imageId = imageId;
      const tags = input.TagSpecifications?.find((t) => t.ResourceType === 'image')?.Tags ?? [];
      this.images.set(`${region}:${imageId}`, { ImageId: imageId, Name: input.Name, State: 'available', Tags: tags });
      return { ImageId: imageId };
    });

    ddb.on(GetItemCommand, ({ Key }: { Key: Record<string, AttributeValue> }) => {
      if (this.lockDisabled && Key[RUN_LEDGER.key]!.S === RUN_LEDGER.lockKey) return {};
      const item = this.ledger.get(Key[RUN_LEDGER.key]!.S!);
      return item ? { Item: { ...item } } : {};
    });
    ddb.on(
      PutItemCommand,
      (input: { Item: Record<string, AttributeValue>; ConditionExpression?: string; ExpressionAttributeValues?: Record<string, AttributeValue> }) => {
        const pk = input.Item[RUN_LEDGER.key]!.S!;
        this.checkCondition(pk, input.ConditionExpression, input.ExpressionAttributeValues);
        this.ledger.set(pk, { ...input.Item });
        return {};
      },
    );
    ddb.on(
      DeleteItemCommand,
      (input: { Key: Record<string, AttributeValue>; ConditionExpression?: string; ExpressionAttributeValues?: Record<string, AttributeValue> }) => {
        const pk = input.Key[RUN_LEDGER.key]!.S!;
        this.checkCondition(pk, input.ConditionExpression, input.ExpressionAttributeValues);
        this.ledger.delete(pk);
        return {};
      },
    );

    sfn.on(DescribeExecutionCommand, ({ executionArn }: { executionArn: string }) => {
      const execution = this.executions.get(executionArn);
      if (!execution) throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${executionArn}'`, $metadata: {} });
      return { executionArn, status: execution.status, input: execution.input, startDate: new Date() };
    });
    sfn.on(StartExecutionCommand, ({ stateMachineArn, name, input }: { stateMachineArn: string; name: string; input: string }) => {
      const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      this.executions.set(executionArn, { status: 'RUNNING', input });
      return { executionArn, startDate: new Date() };
    });
    sns.on(PublishCommand, (input: { Subject?: string; Message: string; MessageAttributes?: Record<string, { StringValue?: string }> }) => {
      const by = actor.getStore();
      this.published.push({
        subject: input.Subject ?? '',
        message: input.Message,
        attributes: Object.fromEntries(Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? ''])),
        executionArn: by?.executionArn,
        fn: by?.fn,
      });
      return { MessageId: `message-${this.published.length}` };
    });

    cfn.on(DescribeStacksCommand, ({ StackName }: { StackName: string }) => ({ Stacks: [this.describeStack(StackName)] }));
    cfn.on(UpdateStackCommand, (input: { StackName: string; Parameters: { ParameterKey: string; ParameterValue?: string }[]; ClientRequestToken?: string }) =>
      this.updateStack(input),
    );
    cfn.on(DescribeStackEventsCommand, ({ StackName }: { StackName: string }) => ({
      StackEvents: [...this.stack(StackName).events].reverse().map((e) => ({
        StackName,
        LogicalResourceId: StackName,
        ResourceStatus: e.status,
        ResourceStatusReason: e.reason,
        ClientRequestToken: e.token,
        Timestamp: e.timestamp,
      })),
    }));
    cfn.on(DescribeStackResourcesCommand, ({ StackName }: { StackName: string }) => ({
      StackResources: [{ ResourceType: 'AWS::AutoScaling::AutoScalingGroup', PhysicalResourceId: `${StackName}-asg` }],
    }));
    asg.on(DescribeAutoScalingGroupsCommand, ({ AutoScalingGroupNames }: { AutoScalingGroupNames: string[] }) => ({
      AutoScalingGroups: AutoScalingGroupNames.map((name) => this.stacks.get(name.replace(/-asg$/, ''))).filter(Boolean).map((s) => ({ AutoScalingGroupName: `${s!.target.stackName}-asg`, DesiredCapacity: s!.desired })),
    }));
    ecs.on(DescribeClustersCommand, ({ clusters }: { clusters: string[] }) => ({
      clusters: clusters.flatMap((name) => {
        const stack = [...this.stacks.values()].find((s) => s.target.clusterName === name);
        return stack && !stack.behaviour.missing ? [{ clusterName: name, status: 'ACTIVE' }] : [];
      }),
    }));
    ecs.on(ListContainerInstancesCommand, ({ cluster }: { cluster: string }) => {
      const stack = this.stackOfCluster(cluster);
      if (stack.registrationLooks > 0) stack.registrationLooks -= 1;
      if (stack.registrationLooks === 0 && stack.behaviour.registration === 'late') for (const i of stack.instances) i.healthy = true;
      return { containerInstanceArns: stack.instances.map((_, i) => `arn:aws:ecs:us-east-1:123456789012:container-instance/${cluster}/${i}`) };
    });
    ecs.on(DescribeContainerInstancesCommand, ({ cluster, containerInstances }: { cluster: string; containerInstances: string[] }) => {
      const stack = this.stackOfCluster(cluster);
      return {
        containerInstances: containerInstances.map((arn) => {
          const instance = stack.instances[Number(arn.split('/').pop())]!;
          return {
            containerInstanceArn: arn,
            status: instance.healthy ? 'ACTIVE' : 'REGISTERING',
            agentConnected: instance.healthy,
            attributes: [{ name: 'ecs.ami-id', value: instance.ami }],
          };
        }),
      };
    });
  }

  // --- set-up ---------------------------------------------------------------------------------

  put(name: string, value: string, dataType?: string, description?: string): number {
    const versions = this.parameters.get(name) ?? [];
    const version = (versions.at(-1)?.version ?? 0) + 1;
    versions.push({ version, value, dataType, description });
    this.parameters.set(name, versions);
    return version;
  }

  value(name: string): string | undefined {
    return this.parameters.get(name)?.at(-1)?.value;
  }

  history(name: string): string[] {
    return (this.parameters.get(name) ?? []).map((v) => v.value);
  }

  /** AWS's public parameter, as a JSON string the way AWS returns it. */
  publishRecommendedBase(imageId: string, imageName = 'al2023-ami-ecs-hvm-2023.0.20261101-kernel-6.1-x86_64', architecture: 'x86_64' | 'arm64' = 'x86_64'): void {
    this.put(
      recommendedBaseAmiParameter(architecture),
      JSON.stringify({ image_id: imageId, image_name: imageName, ecs_agent_version: '1.99.0', ecs_runtime_version: 'Docker version 25.0.8', os: 'Amazon Linux 2023', schema_version: 1 }),
    );
    this.images.set(imageId, { ImageId: imageId, Name: imageName, State: 'available', Architecture: architecture });
  }

  /** An image as this pipeline's Packer template tags it. */
  addPipelineImage(amiId: string, sourceAmiId: string, state = 'available', extra: { architecture?: string; buildId?: string } = {}): void {
    this.images.set(amiId, {
      ImageId: amiId,
      State: state as Image['State'],
      Architecture: (extra.architecture ?? 'x86_64') as Image['Architecture'],
      Name: `ecs-ami-pipeline-${amiId}`,
      Tags: [
        { Key: AMI_TAGS.managedBy, Value: MANAGED_BY_VALUE },
        { Key: AMI_TAGS.sourceAmiId, Value: sourceAmiId },
        { Key: AMI_TAGS.sourceAmiName, Value: 'al2023-ami-ecs-hvm-test' },
        { Key: AMI_TAGS.buildId, Value: extra.buildId ?? `build-of-${amiId}` },
        // The model world's stage (model-world.ts configureEnvironment: STAGE=test).
        { Key: AMI_TAGS.stage, Value: 'test' },
      ],
    });
  }

  addStack(target: ClusterTarget, image: string, behaviour: StackBehaviour = {}, desired = 2): ModelStack {
    const stack: ModelStack = {
      target,
      image,
      status: (behaviour.busyLooks ?? 0) > 0 ? 'UPDATE_IN_PROGRESS' : 'UPDATE_COMPLETE',
      desired,
      instances: Array.from({ length: desired }, () => ({ ami: image, healthy: true })),
      events: [],
      busyLooks: behaviour.busyLooks ?? 0,
      registrationLooks: 0,
      behaviour,
    };
    this.stacks.set(target.stackName, stack);
    return stack;
  }

  /** The lock holder, as the ledger says now. */
  lockOwner(): string | undefined {
    return this.ledger.get(RUN_LEDGER.lockKey)?.ownerExecutionArn?.S;
  }

  restore(): void {
    for (const mock of this.mocks) mock.restore();
  }

  // --- behaviour ------------------------------------------------------------------------------

  private checkCondition(pk: string, condition: string | undefined, values: Record<string, AttributeValue> | undefined): void {
    if (!condition || (this.lockDisabled && pk === RUN_LEDGER.lockKey)) return;
    const item = this.ledger.get(pk);
    const holds = condition.split(' OR ').some((clause) => {
      const c = clause.trim();
      if (c.startsWith('attribute_not_exists(')) return item === undefined;
      const m = /^(\w+) = (:\w+)$/.exec(c);
      if (!m) throw new Error(`model DynamoDB cannot evaluate ${c}`);
      return item?.[m[1]!]?.S !== undefined && item[m[1]!]!.S === values?.[m[2]!]?.S;
    });
    if (!holds) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
  }

  private mutate(kind: Mutation['kind'], target: string, value: string): void {
    const mutation: Mutation = { kind, target, value, by: actor.getStore(), lockOwner: this.lockOwner(), seq: ++this.seq };
    if (kind === 'current-ami') {
      mutation.recordsAtWrite = Object.fromEntries(
        [...this.parameters].filter(([name]) => /\/clusters\/[^/]+$/.test(name)).map(([name, v]) => [name.split('/').pop()!, (JSON.parse(v.at(-1)!.value) as { amiId: string }).amiId]),
      );
    }
    this.mutations.push(mutation);
  }

  private noteParameterWrite(name: string, value: string): void {
    if (/\/clusters\/[^/]+$/.test(name)) {
      const amiId = (JSON.parse(value) as { amiId: string }).amiId;
      this.mutate('cluster-record', name.split('/').pop()!, amiId);
    } else if (name.endsWith('/ami/current')) {
      this.mutate('current-ami', name, value);
    }
  }

  private stack(stackName: string): ModelStack {
    const stack = this.stacks.get(stackName);
    if (!stack || stack.behaviour.missing) throw cfnError(`Stack with id ${stackName} does not exist`);
    return stack;
  }

  private stackOfCluster(cluster: string): ModelStack {
    const stack = [...this.stacks.values()].find((s) => s.target.clusterName === cluster);
    if (!stack) throw new Error(`model: no cluster ${cluster}`);
    return stack;
  }

  /** One look at a stack: time passes for whatever it is doing. */
  private describeStack(stackName: string) {
    const stack = this.stack(stackName);
    this.advance(stack);
    return {
      StackName: stackName,
      StackStatus: stack.status,
      CreationTime: new Date(0),
      Parameters: [
        { ParameterKey: 'VpcId', ParameterValue: 'vpc-0123' },
        { ParameterKey: stack.target.imageParameter, ParameterValue: stack.image },
      ],
      Outputs: [{ OutputKey: 'AutoScalingGroupName', OutputValue: `${stackName}-asg` }],
    };
  }

  private advance(stack: ModelStack): void {
    if (stack.busyLooks > 0) {
      stack.busyLooks -= 1;
      if (stack.busyLooks === 0) stack.status = 'UPDATE_COMPLETE';
      return;
    }
    const pending = stack.pending;
    if (!pending) return;
    const b = stack.behaviour;
    const ending = pending.kind === 'rollback' ? (b.rollback === 'fails' ? 'rollback-failed' : 'ok') : (b.update ?? 'ok');
    if (ending === 'never-finishes') return;
    if (pending.looksLeft > 0) {
      pending.looksLeft -= 1;
      return;
    }
    stack.pending = undefined;
    const event = (status: string, reason?: string) => stack.events.push({ timestamp: new Date(), status, reason, token: pending.token });
    if (ending === 'rolled-back') {
      stack.image = pending.from;
      stack.status = 'UPDATE_ROLLBACK_COMPLETE';
      event('UPDATE_FAILED', b.failureReason ?? 'Received 0 SUCCESS signal(s) out of 1');
      event('UPDATE_ROLLBACK_COMPLETE');
      return;
    }
    if (ending === 'rollback-failed') {
      stack.status = 'UPDATE_ROLLBACK_FAILED';
      stack.instances = stack.instances.map((i, n) => ({ ami: n === 0 ? pending.to : pending.from, healthy: false }));
      event('UPDATE_FAILED', b.failureReason ?? 'Instance failed to stabilize');
      event('UPDATE_ROLLBACK_FAILED', 'Resource handler returned message: instance failed');
      return;
    }
    stack.status = 'UPDATE_COMPLETE';
    const healthy =
      pending.kind === 'rollback' ? b.rollback !== 'never-registers' : b.registration === undefined || b.registration === 'ok';
    stack.instances = Array.from({ length: stack.desired }, () => ({ ami: pending.to, healthy }));
    if (pending.kind === 'rollout' && b.registration === 'late') stack.registrationLooks = b.lateLooks ?? 2;
    event('UPDATE_COMPLETE');
  }

  private updateStack(input: { StackName: string; Parameters: { ParameterKey: string; ParameterValue?: string }[]; ClientRequestToken?: string }) {
    const stack = this.stack(input.StackName);
    if (stack.status.endsWith('_IN_PROGRESS')) {
      throw cfnError(`Stack:${input.StackName} is in ${stack.status} state and can not be updated.`);
    }
    const to = input.Parameters.find((p) => p.ParameterKey === stack.target.imageParameter)?.ParameterValue;
    if (!to || to === stack.image) throw cfnError('No updates are to be performed.');
    const token = input.ClientRequestToken ?? 'none';
    this.mutate('update-stack', input.StackName, to);
    const kind = token.startsWith('rollback-') ? 'rollback' : 'rollout';
    const looks = kind === 'rollback' ? (stack.behaviour.rollbackSettleLooks ?? stack.behaviour.settleLooks) : stack.behaviour.settleLooks;
    stack.pending = { token, from: stack.image, to, kind, looksLeft: looks ?? 0 };
    stack.image = to;
    stack.status = 'UPDATE_IN_PROGRESS';
    stack.events.push({ timestamp: new Date(), status: 'UPDATE_IN_PROGRESS', reason: 'User Initiated', token });
    return { StackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${input.StackName}/1` };
  }
}
