import { GetParameterCommand, GetParameterHistoryCommand, ParameterNotFound, PutParameterCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { parameterHistory, readJsonParameter, readParameter, writeParameter } from '../../functions/lib/aws/parameters';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });
const NAME = '/ecs-ami-pipeline/prod/ami/current';
const notFound = () => new ParameterNotFound({ message: `Parameter ${NAME} not found.`, $metadata: {} });
const accessDenied = () => new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no' });

beforeEach(() => ssmMock.reset());
afterAll(() => ssmMock.restore());

describe('readParameter', () => {
  it('returns the value', async () => {
    ssmMock.on(GetParameterCommand, { Name: NAME }).resolves({ Parameter: { Name: NAME, Value: 'ami-0aaaaaaaaaaaaaaaa' } });
    await expect(readParameter(ssm, NAME)).resolves.toBe('ami-0aaaaaaaaaaaaaaaa');
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: NAME });
  });

  it('returns undefined when the parameter does not exist yet', async () => {
    ssmMock.on(GetParameterCommand).rejects(notFound());
    await expect(readParameter(ssm, NAME)).resolves.toBeUndefined();
  });

  it('passes other errors on', async () => {
    ssmMock.on(GetParameterCommand).rejects(accessDenied());
    await expect(readParameter(ssm, NAME)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('readJsonParameter', () => {
  it('parses JSON', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: '{"amiId":"ami-0aaaaaaaaaaaaaaaa"}' } });
    await expect(readJsonParameter(ssm, NAME)).resolves.toEqual({ amiId: 'ami-0aaaaaaaaaaaaaaaa' });
  });

  it('is undefined when missing or not JSON', async () => {
    ssmMock.on(GetParameterCommand).rejectsOnce(notFound()).resolves({ Parameter: { Value: 'edited by hand' } });
    await expect(readJsonParameter(ssm, NAME)).resolves.toBeUndefined();
    await expect(readJsonParameter(ssm, NAME)).resolves.toBeUndefined();
  });
});

describe('writeParameter', () => {
  it('overwrites (keeping history) as a text String by default, and returns the version', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 7 });
    await expect(writeParameter(ssm, NAME, '{"a":1}', { description: 'record' })).resolves.toBe(7);
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    expect(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input).toEqual({
      Name: NAME,
      Value: '{"a":1}',
      Type: 'String',
      DataType: 'text',
      Description: 'record',
      Overwrite: true,
    });
  });

  it('writes an aws:ec2:image data type when asked, and cuts the description to 1024 characters', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    await writeParameter(ssm, NAME, 'ami-0aaaaaaaaaaaaaaaa', { description: 'd'.repeat(2000), dataType: 'aws:ec2:image' });
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      DataType: 'aws:ec2:image',
      Description: 'd'.repeat(1024),
      Overwrite: true,
    });
  });
});

describe('parameterHistory', () => {
  it('reads every page and returns versions oldest first', async () => {
    const date = new Date('2026-01-01T00:00:00Z');
    ssmMock
      .on(GetParameterHistoryCommand, { Name: NAME, NextToken: undefined })
      .resolves({ Parameters: [{ Version: 3, Value: 'c', LastModifiedDate: date }, { Version: 1, Value: 'a' }], NextToken: 'page-2' })
      .on(GetParameterHistoryCommand, { Name: NAME, NextToken: 'page-2' })
      .resolves({ Parameters: [{ Version: 2, Value: 'b' }, { Version: 4 }] });
    await expect(parameterHistory(ssm, NAME)).resolves.toEqual([
      { version: 1, value: 'a', modifiedAt: undefined },
      { version: 2, value: 'b', modifiedAt: undefined },
      { version: 3, value: 'c', modifiedAt: date },
    ]);
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterHistoryCommand, 2);
    expect(ssmMock).toHaveReceivedNthCommandWith(1, GetParameterHistoryCommand, { Name: NAME, MaxResults: 50 });
    expect(ssmMock).toHaveReceivedNthCommandWith(2, GetParameterHistoryCommand, { Name: NAME, NextToken: 'page-2', MaxResults: 50 });
  });

  it('is empty when the parameter does not exist yet', async () => {
    ssmMock.on(GetParameterHistoryCommand).rejects(notFound());
    await expect(parameterHistory(ssm, NAME)).resolves.toEqual([]);
  });

  it('passes other errors on', async () => {
    ssmMock.on(GetParameterHistoryCommand).rejects(accessDenied());
    await expect(parameterHistory(ssm, NAME)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
