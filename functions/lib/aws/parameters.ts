import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  PutParameterCommand,
  type ParameterType,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { isAwsError } from '../contracts/errors';
import type { ParameterVersion } from '../decisions/history';

/** The value of an SSM parameter, or undefined when it does not exist yet. */
export async function readParameter(ssm: SSMClient, name: string): Promise<string | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name }));
    return out.Parameter?.Value;
  } catch (error) {
    if (isAwsError(error, 'ParameterNotFound')) return undefined;
    throw error;
  }
}

/** A JSON record parameter, or undefined when missing or not JSON (an operator may have edited it). */
export async function readJsonParameter<T>(ssm: SSMClient, name: string): Promise<T | undefined> {
  const raw = await readParameter(ssm, name);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}

/**
 * Writes a new version (Overwrite keeps history; the pipeline never deletes a parameter).
 * `aws:ec2:image` makes SSM check the value is an AMI of this account and region.
 */
export async function writeParameter(
  ssm: SSMClient,
  name: string,
  value: string,
  options: { description: string; type?: ParameterType; dataType?: 'text' | 'aws:ec2:image' },
): Promise<number | undefined> {
  const out = await ssm.send(
    new PutParameterCommand({
      Name: name,
      Value: value,
      Type: options.type ?? 'String',
      DataType: options.dataType ?? 'text',
      Description: options.description.slice(0, 1024),
      Overwrite: true,
    }),
  );
  return out.Version;
}

/** Every version of a parameter, oldest first; empty when it does not exist yet. */
export async function parameterHistory(ssm: SSMClient, name: string): Promise<ParameterVersion[]> {
  const versions: ParameterVersion[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await ssm.send(new GetParameterHistoryCommand({ Name: name, NextToken: nextToken, MaxResults: 50 }));
      for (const p of page.Parameters ?? []) {
        if (p.Version !== undefined && p.Value !== undefined) {
          versions.push({ version: p.Version, value: p.Value, modifiedAt: p.LastModifiedDate });
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    if (isAwsError(error, 'ParameterNotFound')) return [];
    throw error;
  }
  return versions.sort((a, b) => a.version - b.version);
}
