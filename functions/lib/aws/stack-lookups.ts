import {
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type CloudFormationClient,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { ERROR_NAMES, PipelineError } from '../contracts/errors';
import type { StackEventView, StackView } from '../decisions/stack';

export async function describeStack(cfn: CloudFormationClient, stackName: string): Promise<Stack> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (stack) return stack;
  } catch (error) {
    if (!(error instanceof Error && /does not exist/i.test(error.message))) throw error;
  }
  throw new PipelineError(
    ERROR_NAMES.stackNotRollable,
    `stack ${stackName} does not exist in this account and region; fix the waves param or create the stack`,
  );
}

export function stackView(stackName: string, stack: Stack): StackView {
  return {
    stackName,
    status: stack.StackStatus ?? 'UNKNOWN',
    parameters: (stack.Parameters ?? []).map((p) => ({
      key: p.ParameterKey ?? '',
      value: p.ParameterValue,
      resolvedValue: p.ResolvedValue,
    })),
  };
}

export function stackOutputs(stack: Stack): { key: string; value: string }[] {
  return (stack.Outputs ?? []).map((o) => ({ key: o.OutputKey ?? '', value: o.OutputValue ?? '' }));
}

export async function stackResources(cfn: CloudFormationClient, stackName: string) {
  const out = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
  return (out.StackResources ?? []).map((r) => ({ type: r.ResourceType ?? '', physicalId: r.PhysicalResourceId }));
}

/** The stack's events since `since`, newest first as CloudFormation pages them; stops at older ones. */
export async function stackEventsSince(cfn: CloudFormationClient, stackName: string, since: Date): Promise<StackEventView[]> {
  const events: StackEventView[] = [];
  let nextToken: string | undefined;
  do {
    const page = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName, NextToken: nextToken }));
    for (const e of page.StackEvents ?? []) {
      if (!e.Timestamp) continue;
      if (e.Timestamp.getTime() < since.getTime()) return events;
      events.push({
        timestamp: e.Timestamp,
        logicalResourceId: e.LogicalResourceId,
        resourceStatus: e.ResourceStatus,
        resourceStatusReason: e.ResourceStatusReason,
        clientRequestToken: e.ClientRequestToken,
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return events;
}
