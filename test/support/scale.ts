/**
 * The worst cases the README's scale figures and the I5 scale test run: 200 clusters in 4 waves of
 * 50, every cluster of the last wave failing with the longest errors and its rollback failing too
 * (the largest state), and one cluster whose every poll runs to its Retry maximum (the largest
 * history: each cluster is a child execution of the Distributed Map with a history of its own, so
 * its count does not depend on how many clusters a run has).
 */
import type { RunOutcome } from '../../local/state-machine';
import type { StackBehaviour } from './model-aws';
import { wavesOf } from './invariants';
import { ModelWorld } from './model-world';

/** CloudFormation allows status reasons of several kilobytes; the worst case uses 4 KiB ones. */
const LONG_REASON = `Resource handler returned message: ${'the instance did not signal within the timeout; '.repeat(90)}`.slice(0, 4096);

export async function largestState(shape = [50, 50, 50, 50]): Promise<RunOutcome> {
  const waves = wavesOf(shape);
  const last = waves.at(-1)!.clusters.map((c) => c.stackName);
  const failing: StackBehaviour = { registration: 'never', rollback: 'fails', failureReason: LONG_REASON };
  const world = new ModelWorld({ waves, behaviours: Object.fromEntries(last.map((s) => [s, failing])) });
  try {
    return await world.run({ trigger: 'weekly', reason: 'x'.repeat(500), requestedBy: 'y'.repeat(200) }, 'largest-state');
  } finally {
    world.restore();
  }
}

export async function largestHistory(shape = [1, 1, 1, 1]): Promise<RunOutcome> {
  const waves = wavesOf(shape);
  const last = waves.at(-1)!.clusters.map((c) => c.stackName);
  // Every wait as long as the definition allows: a busy stack, an update, the registration, the
  // rollback and its registration each use up their Retry budget (less one, so the next step runs).
  const slowest: StackBehaviour = {
    busyLooks: 299,
    settleLooks: 749,
    registration: 'never',
    rollbackSettleLooks: 749,
    rollback: 'never-registers',
    failureReason: LONG_REASON,
  };
  const world = new ModelWorld({ waves, behaviours: Object.fromEntries(last.map((s) => [s, slowest])) });
  try {
    return await world.run({ trigger: 'weekly' }, 'largest-history');
  } finally {
    world.restore();
  }
}
