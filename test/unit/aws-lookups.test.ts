import { DescribeImagesCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describeImage, listRunningExecutions, recommendedBaseAmi } from '../../functions/lib/aws/aws-lookups';
import { tagValue } from '../../functions/lib/contracts/ami';

const ec2Mock = mockClient(EC2Client);
const sfnMock = mockClient(SFNClient);
const ssmMock = mockClient(SSMClient);
const ec2 = new EC2Client({ region: 'eu-west-1' });
const sfn = new SFNClient({ region: 'eu-west-1' });
const ssm = new SSMClient({ region: 'eu-west-1' });
const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:m';
const ec2Error = (name: string) => new EC2ServiceException({ name, $fault: 'client', $metadata: {}, message: `${name} for ${AMI}` });

beforeEach(() => {
  ec2Mock.reset();
  sfnMock.reset();
  ssmMock.reset();
});
afterAll(() => {
  ec2Mock.restore();
  sfnMock.restore();
  ssmMock.restore();
});

describe('describeImage', () => {
  it('returns the image', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: AMI, State: 'available' }] });
    await expect(describeImage(ec2, AMI)).resolves.toEqual({ ImageId: AMI, State: 'available' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: [AMI] });
  });

  it.each(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'])('returns undefined on %s', async (code) => {
    ec2Mock.on(DescribeImagesCommand).rejects(ec2Error(code));
    await expect(describeImage(ec2, AMI)).resolves.toBeUndefined();
  });

  it('returns undefined when EC2 answers with no image', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    await expect(describeImage(ec2, AMI)).resolves.toBeUndefined();
  });

  it('passes other errors on', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(ec2Error('UnauthorizedOperation'));
    await expect(describeImage(ec2, AMI)).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });
});

describe('tagValue', () => {
  it('reads a tag, or undefined', () => {
    const image = { Tags: [{ Key: 'ManagedBy', Value: 'ecs-ami-pipeline' }] };
    expect(tagValue(image, 'ManagedBy')).toBe('ecs-ami-pipeline');
    expect(tagValue(image, 'SourceAmiId')).toBeUndefined();
    expect(tagValue({}, 'ManagedBy')).toBeUndefined();
    expect(tagValue(undefined, 'ManagedBy')).toBeUndefined();
  });
});

describe('listRunningExecutions', () => {
  it('asks for RUNNING executions of the machine, follows pages and keeps only running ones', async () => {
    const d1 = new Date('2026-01-01T00:00:00Z');
    const d2 = new Date('2026-01-02T00:00:00Z');
    sfnMock
      .on(ListExecutionsCommand, { nextToken: undefined })
      .resolves({
        executions: [
          { executionArn: `${MACHINE}:a`, name: 'a', stateMachineArn: MACHINE, status: 'RUNNING', startDate: d1 },
          // an emulator that ignores statusFilter
          { executionArn: `${MACHINE}:done`, name: 'done', stateMachineArn: MACHINE, status: 'SUCCEEDED', startDate: d1 },
        ],
        nextToken: 't2',
      })
      .on(ListExecutionsCommand, { nextToken: 't2' })
      .resolves({ executions: [{ executionArn: `${MACHINE}:b`, name: 'b', stateMachineArn: MACHINE, startDate: d2 } as never] });
    await expect(listRunningExecutions(sfn, MACHINE)).resolves.toEqual([
      { executionArn: `${MACHINE}:a`, startDate: d1 },
      { executionArn: `${MACHINE}:b`, startDate: d2 },
    ]);
    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(sfnMock).toHaveReceivedNthCommandWith(1, ListExecutionsCommand, { stateMachineArn: MACHINE, statusFilter: 'RUNNING', maxResults: 100 });
    expect(sfnMock).toHaveReceivedNthCommandWith(2, ListExecutionsCommand, { stateMachineArn: MACHINE, statusFilter: 'RUNNING', nextToken: 't2' });
  });

  it('is empty when nothing runs', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    await expect(listRunningExecutions(sfn, MACHINE)).resolves.toEqual([]);
  });
});

describe('recommendedBaseAmi', () => {
  const PARAM = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';

  it('reads and parses the public parameter', async () => {
    ssmMock.on(GetParameterCommand, { Name: PARAM }).resolves({ Parameter: { Value: JSON.stringify({ image_id: AMI, image_name: 'al2023' }) } });
    await expect(recommendedBaseAmi(ssm, PARAM)).resolves.toMatchObject({ imageId: AMI, imageName: 'al2023' });
  });

  it('fails naming the parameter when its value has the wrong shape', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: '{}' } });
    await expect(recommendedBaseAmi(ssm, PARAM)).rejects.toThrow(`${PARAM} has an unexpected shape: image_id Required`);
  });
});
