import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLogger, lambdaHandler, runLedgerTable } from '../lib/handler';
import { releaseLock } from '../lib/aws/run-ledger';

const ddb = new DynamoDBClient({});
const logger = createLogger('release-fleet');

export interface ReleaseFleetEvent {
  executionArn: string;
}

/** The run's last step: let go of the fleet lock if this run holds it (a skipped run never did). */
export const handler = lambdaHandler(logger, async (event: ReleaseFleetEvent): Promise<{ released: boolean }> => ({
  released: await releaseLock(ddb, runLedgerTable(), event.executionArn),
}));
