import { DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { AMI_TAGS, MANAGED_BY_VALUE, recommendedBaseAmiParameter } from '../../functions/lib/contracts';

export interface StoredVersion {
  version: number;
  value: string;
  dataType?: string;
  description?: string;
}

export interface PublishedMessage {
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

/**
 * Just enough of SSM, EC2 images, Step Functions executions and SNS, in memory, for the
 * handlers the state-machine tests run for real. Each mocked call reads or changes this state,
 * so tests assert on what was written, not on which calls were made.
 */
export class FakeAws {
  readonly parameters = new Map<string, StoredVersion[]>();
  readonly images = new Map<string, Image>();
  readonly running: { executionArn: string; startDate: Date }[] = [];
  readonly published: PublishedMessage[] = [];

  private readonly ssm = mockClient(SSMClient);
  private readonly ec2 = mockClient(EC2Client);
  private readonly sfn = mockClient(SFNClient);
  private readonly sns = mockClient(SNSClient);

  constructor() {
    const { ssm, ec2, sfn, sns } = this;
    ssm.on(GetParameterCommand).callsFake(({ Name }: { Name: string }) => {
      const latest = this.parameters.get(Name)?.at(-1);
      if (!latest) throw new ParameterNotFound({ message: `Parameter ${Name} not found.`, $metadata: {} });
      return { Parameter: { Name, Value: latest.value, Version: latest.version } };
    });
    ssm.on(GetParameterHistoryCommand).callsFake(({ Name }: { Name: string }) => {
      const versions = this.parameters.get(Name);
      if (!versions) throw new ParameterNotFound({ message: `Parameter ${Name} not found.`, $metadata: {} });
      return { Parameters: versions.map((v) => ({ Name, Value: v.value, Version: v.version })) };
    });
    ssm.on(PutParameterCommand).callsFake((input: { Name: string; Value: string; DataType?: string; Description?: string }) => {
      const version = this.put(input.Name, input.Value, input.DataType, input.Description);
      return { Version: version };
    });
    ec2.on(DescribeImagesCommand).callsFake(({ ImageIds }: { ImageIds: string[] }) => ({
      Images: ImageIds.map((id) => this.images.get(id)).filter(Boolean),
    }));
    sfn.on(ListExecutionsCommand).callsFake(() => ({
      executions: this.running.map((e) => ({ ...e, status: 'RUNNING', name: e.executionArn.split(':').pop() })),
    }));
    sns.on(PublishCommand).callsFake((input: { Subject?: string; Message: string; MessageAttributes?: Record<string, { StringValue?: string }> }) => {
      this.published.push({
        subject: input.Subject ?? '',
        message: input.Message,
        attributes: Object.fromEntries(Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? ''])),
      });
      return { MessageId: `message-${this.published.length}` };
    });
  }

  put(name: string, value: string, dataType?: string, description?: string): number {
    const versions = this.parameters.get(name) ?? [];
    const version = (versions.at(-1)?.version ?? 0) + 1;
    versions.push({ version, value, dataType, description });
    this.parameters.set(name, versions);
    return version;
  }

  value(name: string): string | undefined {
    return this.parameters.get(name)?.at(-1)?.value;
  }

  history(name: string): string[] {
    return (this.parameters.get(name) ?? []).map((v) => v.value);
  }

  /** AWS's public parameter, as a JSON string the way AWS returns it. */
  publishRecommendedBase(imageId: string, imageName = 'al2023-ami-ecs-hvm-2023.0.20261101-kernel-6.1-x86_64'): void {
    this.put(
      recommendedBaseAmiParameter('x86_64'),
      JSON.stringify({ image_id: imageId, image_name: imageName, ecs_agent_version: '1.99.0', ecs_runtime_version: 'Docker version 25.0.8', os: 'Amazon Linux 2023', schema_version: 1 }),
    );
    this.images.set(imageId, { ImageId: imageId, Name: imageName, State: 'available' });
  }

  /** An image as this pipeline's Packer template tags it. */
  addPipelineImage(amiId: string, sourceAmiId: string, state = 'available'): void {
    this.images.set(amiId, {
      ImageId: amiId,
      State: state as Image['State'],
      Name: `ecs-ami-pipeline-${amiId}`,
      Tags: [
        { Key: AMI_TAGS.managedBy, Value: MANAGED_BY_VALUE },
        { Key: AMI_TAGS.sourceAmiId, Value: sourceAmiId },
        { Key: AMI_TAGS.sourceAmiName, Value: 'al2023-ami-ecs-hvm-test' },
        { Key: AMI_TAGS.buildId, Value: `build-of-${amiId}` },
      ],
    });
  }

  restore(): void {
    for (const mock of [this.ssm, this.ec2, this.sfn, this.sns]) mock.restore();
  }
}
