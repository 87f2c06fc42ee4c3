import type { ClusterTarget } from '../contracts';
import { isBusy, stackParameter, type StackView } from './stack';

/**
 * Can every cluster target of a run be rolled? Checked before anything is baked: a deleted stack or a
 * misspelt cluster must cost a message, not a 15-minute build.
 */

// Statuses from which a stack can take an update now or once it settles.
const ROLLABLE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);

export interface TargetProblem {
  stackName: string;
  problem: string;
}

/** `stack` undefined: it does not exist. `clusterStatus` undefined: ECS does not know the cluster. */
export function targetProblems(target: ClusterTarget, stack: StackView | undefined, clusterStatus: string | undefined): string[] {
  const problems: string[] = [];
  if (!stack) {
    problems.push(`stack ${target.stackName} does not exist in this account and region; fix the waves param or create the stack`);
  } else {
    if (!ROLLABLE.has(stack.status) && !isBusy(stack.status)) {
      problems.push(`stack ${target.stackName} is ${stack.status}, from which CloudFormation accepts no update; repair it first`);
    }
    const image = stackParameter(stack, target.imageParameter);
    if (!image) {
      const keys = stack.parameters.map((p) => p.key).join(', ') || 'none';
      problems.push(`stack ${target.stackName} has no parameter ${target.imageParameter} (its parameters: ${keys}); set imageParameter for this target in the waves param`);
    } else if (image.resolvedValue !== undefined) {
      problems.push(`parameter ${target.imageParameter} of stack ${target.stackName} is an SSM-parameter type; give the stack a plain String or AWS::EC2::Image::Id parameter`);
    }
  }
  if (clusterStatus === undefined) {
    problems.push(`ECS cluster ${target.clusterName} does not exist in this account and region; fix clusterName in the waves param`);
  } else if (clusterStatus !== 'ACTIVE') {
    problems.push(`ECS cluster ${target.clusterName} is ${clusterStatus}, not ACTIVE`);
  }
  return problems;
}

/** Every problem of every target, in wave order: the message lists them all at once. */
export function preflight(
  targets: ClusterTarget[],
  stacks: Map<string, StackView | undefined>,
  clusters: Map<string, string | undefined>,
): TargetProblem[] {
  return targets.flatMap((t) => targetProblems(t, stacks.get(t.stackName), clusters.get(t.clusterName)).map((problem) => ({ stackName: t.stackName, problem })));
}
