import type { ClusterTarget } from '../../functions/lib/contracts';
import { ERROR_NAMES, PipelineError } from '../../functions/lib/errors';

/** How one stack behaves when the pipeline rolls it, per step. Defaults: everything works. */
export interface StackBehaviour {
  /** `not-rollable`: UpdateStack is refused (a stack already on the image is set up through FakeFleet's initial images). */
  update?: 'ok' | 'not-rollable';
  stack?: 'ok' | 'rolled-back' | 'rollback-failed';
  registration?: 'ok' | 'timeout';
  rollback?: 'ok' | 'fails';
}

export interface FleetCall {
  fn: 'updateStack' | 'checkStackUpdate' | 'confirmRegistration';
  stackName: string;
  amiId: string;
  purpose?: string;
}

/**
 * Stand-ins for the three cluster functions in state-machine tests: they keep each stack's image
 * and answer as the scenario says. The real handlers are unit-tested on their own and run against
 * moto in the end-to-end tests; here the subject is the definition's paths.
 */
export class FakeFleet {
  readonly images = new Map<string, string>();
  readonly calls: FleetCall[] = [];
  private readonly previous = new Map<string, string>();
  private readonly rollingBack = new Set<string>();

  constructor(
    initial: Record<string, string>,
    private readonly behaviours: Record<string, StackBehaviour> = {},
  ) {
    for (const [stack, ami] of Object.entries(initial)) this.images.set(stack, ami);
  }

  private behaviour(stack: string): StackBehaviour {
    return this.behaviours[stack] ?? {};
  }

  callsFor(stackName: string): FleetCall[] {
    return this.calls.filter((c) => c.stackName === stackName);
  }

  handlers() {
    return {
      updateStack: async (input: { target: ClusterTarget; amiId: string; purpose: string }) => {
        const { stackName } = input.target;
        this.calls.push({ fn: 'updateStack', stackName, amiId: input.amiId, purpose: input.purpose });
        const b = this.behaviour(stackName);
        if (input.purpose === 'rollout' && b.update === 'not-rollable') {
          throw new PipelineError(ERROR_NAMES.stackNotRollable, `stack ${stackName} has no parameter ApplicationImageId`);
        }
        const previousAmiId = this.images.get(stackName) ?? '';
        const changed = previousAmiId !== input.amiId;
        if (input.purpose === 'rollback') this.rollingBack.add(stackName);
        else if (changed) this.previous.set(stackName, previousAmiId);
        if (changed) this.images.set(stackName, input.amiId);
        return { stackName, previousAmiId, changed, requestedAt: new Date().toISOString() };
      },
      checkStackUpdate: async (input: { target: ClusterTarget; amiId: string }) => {
        const { stackName } = input.target;
        this.calls.push({ fn: 'checkStackUpdate', stackName, amiId: input.amiId });
        const b = this.behaviour(stackName);
        const isRollback = this.rollingBack.has(stackName);
        if (isRollback && b.rollback === 'fails') {
          throw new PipelineError(ERROR_NAMES.stackRollbackFailed, `stack ${stackName} is UPDATE_ROLLBACK_FAILED: Instance i-1 failed to stabilize`);
        }
        if (!isRollback && b.stack === 'rolled-back') {
          this.images.set(stackName, this.previous.get(stackName) ?? '');
          throw new PipelineError(
            ERROR_NAMES.stackUpdateRolledBack,
            `CloudFormation rolled stack ${stackName} back: ApplicationAutoscaling: Received 0 SUCCESS signal(s) out of 1`,
          );
        }
        if (!isRollback && b.stack === 'rollback-failed') {
          throw new PipelineError(ERROR_NAMES.stackRollbackFailed, `stack ${stackName} is UPDATE_ROLLBACK_FAILED`);
        }
        return { status: 'UPDATE_COMPLETE', settledAt: new Date().toISOString() };
      },
      confirmRegistration: async (input: { target: ClusterTarget; amiId: string }) => {
        const { stackName, clusterName } = input.target;
        this.calls.push({ fn: 'confirmRegistration', stackName, amiId: input.amiId });
        const b = this.behaviour(stackName);
        if (!this.rollingBack.has(stackName) && b.registration === 'timeout') {
          throw new PipelineError(
            ERROR_NAMES.registrationTimedOut,
            `cluster ${clusterName} did not confirm ${input.amiId} within 900 s of the stack settling: 0/2 instances ACTIVE and connected on ${input.amiId}`,
          );
        }
        return { confirmed: true, summary: `2/2 instances ACTIVE and connected on ${input.amiId}`, checkedAt: new Date().toISOString() };
      },
    };
  }
}
