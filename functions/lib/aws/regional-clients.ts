import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * SDK clients for other regions than the function's own (copies in copyToRegions, cluster targets
 * that name a region), created once per region and kept for the life of the execution environment,
 * like the module-level clients of the handlers.
 */
type ClientClass<C> = new (config: { region: string }) => C;
const cache = new Map<ClientClass<unknown>, Map<string, unknown>>();

function clientIn<C>(Client: ClientClass<C>, region: string): C {
  let byRegion = cache.get(Client as ClientClass<unknown>);
  if (!byRegion) cache.set(Client as ClientClass<unknown>, (byRegion = new Map()));
  let client = byRegion.get(region) as C | undefined;
  if (!client) byRegion.set(region, (client = new Client({ region })));
  return client;
}

export const ec2In = (region: string): EC2Client => clientIn(EC2Client, region);
export const ssmIn = (region: string): SSMClient => clientIn(SSMClient, region);

/** The stack, group and cluster clients of a target: the handler's own when the target is in its region. */
export interface FleetClients {
  cfn: CloudFormationClient;
  ecs: ECSClient;
  autoscaling: AutoScalingClient;
}

export function fleetClientsFor(region: string | undefined, home: Partial<FleetClients> & { cfn: CloudFormationClient }): FleetClients {
  const own = process.env.AWS_REGION;
  if (!region || region === own) {
    return { cfn: home.cfn, ecs: home.ecs ?? clientIn(ECSClient, own ?? 'us-east-1'), autoscaling: home.autoscaling ?? clientIn(AutoScalingClient, own ?? 'us-east-1') };
  }
  return { cfn: clientIn(CloudFormationClient, region), ecs: clientIn(ECSClient, region), autoscaling: clientIn(AutoScalingClient, region) };
}
