import { CloudFormationClient, DescribeStackEventsCommand, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateImageCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DEFAULT_IMAGE_PARAMETER } from '../../functions/lib/contracts';
import { planImageUpdate } from '../../functions/lib/decisions/stack';
import { stackView } from '../../functions/lib/aws/stack-lookups';
import { signedRegion, startCloudFormationProxy, type CloudFormationProxy } from '../../local/cloudformation-proxy';
import { CLUSTER_CAPABILITIES, deployClusterStack, groupInstances, type DeployedClusterStack } from '../../local/cluster-stack';
import { SimulatedEcsAgents } from '../../local/ecs-agent';
import { useMotoInThisProcess, type Moto } from '../../local/moto';
import { workerMoto } from '../support/worker-moto';
import { SimulatedRollingUpdates } from '../../local/rolling-update';

/**
 * Cluster stacks in two regions of one moto_server, rolled through the CloudFormation proxy: the
 * proxy must apply the simulated rolling update to the stack of the region the UpdateStack was
 * signed for. Both stacks have the same name, so only the region can tell them apart.
 */
const HOME = 'us-east-1';
const OTHER = 'eu-west-1';
const STACK = 'ecs-dev';
const BASE_AMI_PARAMETER = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id';

let moto: Moto;
let proxy: CloudFormationProxy;
let updates: SimulatedRollingUpdates;
const agents = new SimulatedEcsAgents(HOME);
const logged: string[] = [];
const stacks: Record<string, DeployedClusterStack> = {};
const bases: Record<string, string> = {};

const cfnVia = (region: string) => new CloudFormationClient({ region, endpoint: proxy.endpoint });
const statusVia = async (region: string) => (await cfnVia(region).send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!.StackStatus;

async function fleet(region: string) {
  const stack = stacks[region]!;
  const registered = await agents.in(region).instances(stack.clusterName);
  return (await groupInstances(region, stack.autoScalingGroupName)).map((i) => ({
    ...i,
    ecs: registered.find((r) => r.ec2InstanceId === i.id),
  }));
}

beforeAll(async () => {
  moto = await workerMoto(HOME);
  useMotoInThisProcess(moto);
  agents.in(HOME);
  updates = new SimulatedRollingUpdates({
    motoEndpoint: moto.endpoint,
    region: HOME,
    agents,
    imageBehaviour: () => 'healthy',
    log: (stackName, message) => logged.push(`${stackName}: ${message}`),
    stepMs: 5,
  });
  proxy = await startCloudFormationProxy(moto.endpoint, updates);
  await Promise.all(
    [HOME, OTHER].map(async (region) => {
      bases[region] = (await new SSMClient({ region }).send(new GetParameterCommand({ Name: BASE_AMI_PARAMETER }))).Parameter!.Value!;
      // Two instances where the update runs: the rolling update goes batch by batch.
      const overrides: Record<string, string> = region === OTHER ? { ApplicationDesiredCount: '2', ApplicationMaxSize: '3' } : {};
      const stack = await deployClusterStack({ region, stackName: STACK, stage: 'dev', imageId: bases[region]!, overrides });
      for (const instance of await groupInstances(region, stack.autoScalingGroupName)) await agents.in(region).register(stack.clusterName, instance.id);
      stacks[region] = stack;
    }),
  );
}, 60_000);

afterAll(async () => {
  await updates?.idle();
  await proxy?.stop();
  await moto?.stop();
});

test('the region of a request is the one its SigV4 credential scope names', () => {
  const auth = 'AWS4-HMAC-SHA256 Credential=testing/20261128/eu-west-1/cloudformation/aws4_request, SignedHeaders=host, Signature=abc';
  expect(signedRegion(auth)).toBe('eu-west-1');
  expect(signedRegion(undefined, '/?X-Amz-Credential=testing%2F20261128%2Fap-south-1%2Fcloudformation%2Faws4_request')).toBe('ap-south-1');
  expect(signedRegion(undefined)).toBeUndefined();
  expect(signedRegion('Bearer token')).toBeUndefined();
});

test('an UpdateStack signed for eu-west-1 rolls the eu-west-1 stack only', async () => {
  const home = { before: await fleet(HOME), parameters: (await cfnVia(HOME).send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!.Parameters };
  const old = await fleet(OTHER);
  expect(old).toHaveLength(2);
  expect(old.every((i) => i.imageId === bases[OTHER] && i.ecs?.status === 'ACTIVE')).toBe(true);

  // A new image that exists in eu-west-1 only (made there, as a copy would be).
  const newImage = (await new EC2Client({ region: OTHER }).send(new CreateImageCommand({ InstanceId: old[0]!.id, Name: `regional-${Date.now()}` }))).ImageId!;
  const described = (await cfnVia(OTHER).send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!;
  const plan = planImageUpdate(stackView(STACK, described), DEFAULT_IMAGE_PARAMETER, newImage);
  if (plan.kind !== 'update') throw new Error('expected an update');
  const token = `regional-rollout-${Date.now()}`;
  await cfnVia(OTHER).send(
    new UpdateStackCommand({ StackName: STACK, UsePreviousTemplate: true, Parameters: plan.parameters, Capabilities: [...CLUSTER_CAPABILITIES], ClientRequestToken: token }),
  );
  // Busy in the region it was sent to, and there only.
  expect(await statusVia(OTHER)).toBe('UPDATE_IN_PROGRESS');
  expect(await statusVia(HOME)).toBe('CREATE_COMPLETE');

  await updates.idle();
  expect(await statusVia(OTHER)).toBe('UPDATE_COMPLETE');
  const events = (await cfnVia(OTHER).send(new DescribeStackEventsCommand({ StackName: STACK }))).StackEvents ?? [];
  expect(events.some((e) => e.ResourceStatus === 'UPDATE_COMPLETE' && e.LogicalResourceId === STACK && e.ClientRequestToken === token)).toBe(true);
  expect(logged.filter((l) => l.startsWith(`${STACK} (${OTHER}): batch `)).length).toBeGreaterThanOrEqual(4);

  const rolled = await fleet(OTHER);
  expect(rolled).toHaveLength(2);
  expect(rolled.some((i) => old.some((o) => o.id === i.id))).toBe(false);
  for (const instance of rolled) {
    expect(instance.imageId).toBe(newImage);
    expect(instance.ecs).toMatchObject({ status: 'ACTIVE', amiId: newImage });
  }
  // The replaced instances left the eu-west-1 cluster.
  expect((await agents.in(OTHER).instances(stacks[OTHER]!.clusterName)).map((i) => i.ec2InstanceId).sort()).toEqual(rolled.map((i) => i.id).sort());

  // us-east-1: the same instances, image, registrations and parameters as before; no simulated event.
  expect(await fleet(HOME)).toEqual(home.before);
  expect((await cfnVia(HOME).send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!.Parameters).toEqual(home.parameters);
  const homeEvents = (await cfnVia(HOME).send(new DescribeStackEventsCommand({ StackName: STACK }))).StackEvents ?? [];
  expect(homeEvents.some((e) => e.ClientRequestToken === token)).toBe(false);
}, 30_000);
