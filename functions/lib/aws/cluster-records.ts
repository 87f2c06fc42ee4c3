import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ClusterRecord, ClusterTarget, ParameterNames } from '../contracts';
import { readParameter, writeParameter } from './parameters';

/** The per-cluster records (contracts.ts, ClusterRecord) in SSM, one parameter per stack. */

/** A record's JSON, or undefined when it is missing, not JSON, or names no image. */
export function parseClusterRecord(raw: string | undefined): ClusterRecord | undefined {
  if (!raw) return undefined;
  try {
    const record = JSON.parse(raw) as Partial<ClusterRecord>;
    // An operator may have edited it by hand: only a record naming an image counts.
    return typeof record.amiId === 'string' && record.amiId.startsWith('ami-') ? (record as ClusterRecord) : undefined;
  } catch {
    return undefined;
  }
}

export async function readClusterRecord(ssm: SSMClient, names: ParameterNames, stackName: string): Promise<ClusterRecord | undefined> {
  return parseClusterRecord(await readParameter(ssm, names.clusterRecord(stackName)));
}

/** The records of many clusters, ten names per call (GetParameters' limit); absent ones are undefined. */
export async function readClusterRecords(
  ssm: SSMClient,
  names: ParameterNames,
  targets: ClusterTarget[],
): Promise<Map<string, ClusterRecord | undefined>> {
  const records = new Map<string, ClusterRecord | undefined>(targets.map((t) => [t.stackName, undefined]));
  const stacks = [...records.keys()];
  for (let i = 0; i < stacks.length; i += 10) {
    const batch = stacks.slice(i, i + 10);
    const out = await ssm.send(new GetParametersCommand({ Names: batch.map((s) => names.clusterRecord(s)) }));
    for (const p of out.Parameters ?? []) {
      const stack = batch.find((s) => names.clusterRecord(s) === p.Name);
      if (stack) records.set(stack, parseClusterRecord(p.Value));
    }
  }
  return records;
}

export async function writeClusterRecord(ssm: SSMClient, names: ParameterNames, record: ClusterRecord): Promise<void> {
  await writeParameter(ssm, names.clusterRecord(record.stackName), JSON.stringify(record), {
    description: `Image cluster ${record.clusterName} last confirmed (${record.purpose}, run ${record.runId})`,
  });
}
