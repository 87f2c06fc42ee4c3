import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { runBaseAmiCheck, type BaseAmiCheckResult } from '../lib/aws/base-ami-job';
import { LAMBDA_ENV } from '../lib/contracts';
import { baseAmiArchitecture, baseAmiMaxAttempts, createLogger, lambdaHandler, requireEnv, runLedgerTable } from '../lib/handler';

const ssm = new SSMClient({});
const sfn = new SFNClient({});
const ddb = new DynamoDBClient({});
const logger = createLogger('check-base-ami');

export type { BaseAmiCheckResult };

// The scheduled event carries nothing the check needs.
export const handler = lambdaHandler(logger, async (_event: unknown): Promise<BaseAmiCheckResult> =>
  runBaseAmiCheck(
    { ssm, sfn, ddb },
    {
      stateMachineArn: requireEnv(LAMBDA_ENV.stateMachineArn),
      parameterPrefix: requireEnv(LAMBDA_ENV.parameterPrefix),
      architecture: baseAmiArchitecture(),
      runLedgerTable: runLedgerTable(),
      maxAttempts: baseAmiMaxAttempts(),
    },
  ),
);
