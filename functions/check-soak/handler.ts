import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { observeSoak } from '../lib/aws/soak-health';
import type { Wave } from '../lib/contracts';
import { ConfigurationError } from '../lib/contracts/errors';
import { assessSoak, soakOutcome, soakRollbackItems, type SoakProgress } from '../lib/decisions/gates';
import { recordSoak, type RolloutState } from '../lib/decisions/rollout';
import { createLogger, lambdaHandler } from '../lib/handler';

const cloudwatch = new CloudWatchClient({});
const ecs = new ECSClient({});
const logger = createLogger('check-soak');

/** The payload of "Check the wave while it soaks". */
export interface CheckSoakEvent {
  executionArn: string;
  wave: Wave;
  /** The rollout as assessed after the wave; `rollout.soak` is the soak so far. */
  rollout: RolloutState;
}

/**
 * One look at the soaking wave: its alarms and the services on its clusters. Returns the rollout
 * with the soak's progress; when the soak ended, the wave keeps how, and a failed soak names the
 * clusters to put back.
 */
export async function checkSoak(event: CheckSoakEvent, now: Date): Promise<RolloutState> {
  const soak = event.wave.soak;
  if (!soak) throw new ConfigurationError(`wave ${event.wave.name} has no soak; the state machine only soaks waves that declare one`);
  const previous: SoakProgress = event.rollout.soak ?? { status: 'STARTING' };
  const seen = await observeSoak(
    { cloudwatch, ecs },
    soak.alarms,
    event.wave.clusters.map((c) => c.clusterName),
    soak.checkServices,
  );
  const progress = assessSoak(soak, previous, seen, now);
  logger.info('soak checked', { wave: event.wave.name, status: progress.status, checks: progress.checks, lastCheck: progress.lastCheck, problems: progress.problems });
  const rollout = { ...event.rollout, soak: progress };
  const outcome = soakOutcome(progress, now);
  if (!outcome) return rollout;
  const last = rollout.waves[rollout.waves.length - 1];
  return recordSoak(rollout, outcome, soakRollbackItems(event.wave, last?.results ?? [], now));
}

export const handler = lambdaHandler(logger, async (event: CheckSoakEvent) => checkSoak(event, new Date()));
