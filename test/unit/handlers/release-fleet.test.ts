import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../functions/release-fleet/handler';
import { caught, unsetEnv, useEnv } from './env';

const ddbMock = mockClient(DynamoDBClient);
const TABLE = 'ecs-ami-pipeline-prod-runs';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';

useEnv({ AWS_REGION: 'eu-west-1', RUN_LEDGER_TABLE: TABLE });

beforeEach(() => {
  ddbMock.reset();
  ddbMock.on(DeleteItemCommand).resolves({});
});
afterAll(() => ddbMock.restore());

describe('release-fleet handler', () => {
  it('lets go of the lock this run holds, and only that', async () => {
    await expect(handler({ executionArn: EXEC })).resolves.toEqual({ released: true });
    expect(ddbMock).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
    expect(ddbMock.commandCalls(DeleteItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: { S: 'fleet-lock' } },
      ConditionExpression: 'ownerExecutionArn = :me',
      ExpressionAttributeValues: { ':me': { S: EXEC } },
    });
  });

  it('reports released: false, without failing, when the run did not hold it (a skipped run)', async () => {
    ddbMock.on(DeleteItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    await expect(handler({ executionArn: EXEC })).resolves.toEqual({ released: false });
  });

  it('fails on other errors, as transient when throttled', async () => {
    ddbMock.on(DeleteItemCommand).rejects(new DynamoDBServiceException({ name: 'ProvisionedThroughputExceededException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    expect((await caught(handler({ executionArn: EXEC }))).name).toBe('TransientAwsError');
    ddbMock.on(DeleteItemCommand).rejects(new DynamoDBServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' }));
    expect((await caught(handler({ executionArn: EXEC }))).name).toBe('AccessDeniedException');
  });

  it('fails when the run ledger is not configured', async () => {
    unsetEnv('RUN_LEDGER_TABLE');
    expect((await caught(handler({ executionArn: EXEC }))).message).toBe('environment variable RUN_LEDGER_TABLE is not set; it comes from serverless.yml');
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });
});
