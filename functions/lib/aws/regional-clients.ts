import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * SDK clients for other regions than the function's own, created once per region and kept for the
 * life of the execution environment (like the module-level clients of the handlers).
 */
const ec2s = new Map<string, EC2Client>();
const ssms = new Map<string, SSMClient>();

export function ec2In(region: string): EC2Client {
  let client = ec2s.get(region);
  if (!client) ec2s.set(region, (client = new EC2Client({ region })));
  return client;
}

export function ssmIn(region: string): SSMClient {
  let client = ssms.get(region);
  if (!client) ssms.set(region, (client = new SSMClient({ region })));
  return client;
}
