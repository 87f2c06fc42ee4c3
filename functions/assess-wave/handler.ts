import type { Wave } from '../lib/contracts';
import { createLogger, lambdaHandler } from '../lib/handler';
import { assessWave, type ClusterBranchOutput, type RolloutState } from '../lib/decisions/rollout';

const logger = createLogger('assess-wave');

export interface AssessWaveEvent {
  executionArn: string;
  rollout: RolloutState;
  wave: Wave;
  results: ClusterBranchOutput[];
  totalWaves: number;
}

export const handler = lambdaHandler(logger, async (event: AssessWaveEvent): Promise<RolloutState> =>
  assessWave(event.rollout, event.wave, event.results, event.totalWaves, new Date()),
);
