import type { Image } from '@aws-sdk/client-ec2';
import { checkBakedImage, exportedAmi } from '../../functions/lib/decisions/baked-ami';
import { PipelineError } from '../../functions/lib/contracts/errors';

const AMI = 'ami-0dddddddddddddddd';
const BASE = 'ami-0cccccccccccccccc';
const BUILD = 'ecs-ami-pipeline-prod-bake:1234';

function thrown(run: () => unknown): PipelineError {
  try {
    run();
  } catch (error) {
    return error as PipelineError;
  }
  throw new Error('expected an error');
}

describe('exportedAmi', () => {
  it('reads AMI_ID and SOURCE_AMI_ID from the exported variables', () => {
    expect(
      exportedAmi(
        BUILD,
        [
          { Name: 'AMI_ID', Value: ` ${AMI}\n` },
          { Name: 'AMI_REGION', Value: 'eu-west-1' },
          { Name: 'SOURCE_AMI_ID', Value: BASE },
        ],
        'eu-west-1',
      ),
    ).toEqual({ amiId: AMI, sourceAmiId: BASE });
    expect(exportedAmi(BUILD, [{ Name: 'AMI_ID', Value: AMI }], 'eu-west-1')).toEqual({ amiId: AMI, sourceAmiId: undefined });
  });

  it.each([[undefined], [[]], [[{ Name: 'AMI_ID', Value: '  ' }]], [[{ Name: 'AMI_ID' }]]])('fails with NoAmiExported when AMI_ID is missing (%j)', (exported) => {
    const error = thrown(() => exportedAmi(BUILD, exported, 'eu-west-1'));
    expect(error.name).toBe('NoAmiExported');
    expect(error.message).toBe(
      `${BUILD} succeeded but exported no AMI_ID; check the buildspec's env.exported-variables and its manifest step`,
    );
  });

  it('says "the build" when the build id is unknown', () => {
    expect(thrown(() => exportedAmi(undefined, [], 'eu-west-1')).message).toMatch(/^the build succeeded but exported no AMI_ID/);
  });

  it('fails with NoAmiExported when AMI_ID is malformed', () => {
    const error = thrown(() => exportedAmi(BUILD, [{ Name: 'AMI_ID', Value: 'eu-west-1:ami-0dddddddddddddddd' }], 'eu-west-1'));
    expect(error.name).toBe('NoAmiExported');
    expect(error.message).toBe(`${BUILD} exported AMI_ID="eu-west-1:ami-0dddddddddddddddd", which is not an AMI id`);
  });

  it('fails with AmiUnusable when the image was baked in another region', () => {
    const error = thrown(() => exportedAmi(BUILD, [{ Name: 'AMI_ID', Value: AMI }, { Name: 'AMI_REGION', Value: 'us-east-1' }], 'eu-west-1'));
    expect(error.name).toBe('AmiUnusable');
    expect(error.message).toBe(`${BUILD} baked ${AMI} in us-east-1, but the pipeline runs in eu-west-1`);
  });
});

function pipelineImage(overrides: Partial<Image> = {}, tags: Record<string, string> = { ManagedBy: 'ecs-ami-pipeline', SourceAmiId: BASE }): Image {
  return {
    ImageId: AMI,
    State: 'available',
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    ...overrides,
  };
}

describe('checkBakedImage', () => {
  it('accepts an available image tagged by this pipeline and built from the expected base', () => {
    expect(() => checkBakedImage(AMI, pipelineImage(), BASE)).not.toThrow();
    expect(() => checkBakedImage(AMI, pipelineImage(), undefined)).not.toThrow();
    expect(() => checkBakedImage(AMI, pipelineImage({}, { ManagedBy: 'ecs-ami-pipeline' }), BASE)).not.toThrow();
  });

  it('fails with AmiUnusable when the image does not exist', () => {
    const error = thrown(() => checkBakedImage(AMI, undefined, BASE));
    expect(error.name).toBe('AmiUnusable');
    expect(error.message).toBe(`${AMI} does not exist in this region`);
  });

  it('fails with AmiNotAvailableYet while the image is pending (the state machine retries that)', () => {
    const error = thrown(() => checkBakedImage(AMI, pipelineImage({ State: 'pending' }), BASE));
    expect(error.name).toBe('AmiNotAvailableYet');
    expect(error.message).toBe(`${AMI} is still pending; waiting for it to become available`);
  });

  it('fails with AmiUnusable when the image failed, quoting the reason', () => {
    const error = thrown(() => checkBakedImage(AMI, pipelineImage({ State: 'failed', StateReason: { Code: 'x', Message: 'snapshot failed' } }), BASE));
    expect(error.name).toBe('AmiUnusable');
    expect(error.message).toBe(`${AMI} is failed (snapshot failed)`);
    expect(thrown(() => checkBakedImage(AMI, pipelineImage({ State: 'deregistered' }), BASE)).message).toBe(`${AMI} is deregistered`);
  });

  it('fails with AmiUnusable when the image has no ManagedBy tag of this pipeline', () => {
    for (const tags of [{}, { ManagedBy: 'someone-else' }] as Record<string, string>[]) {
      const error = thrown(() => checkBakedImage(AMI, pipelineImage({}, tags), BASE));
      expect(error.name).toBe('AmiUnusable');
      expect(error.message).toBe(`${AMI} has no ManagedBy=ecs-ami-pipeline tag: it was not baked from this pipeline's Packer template`);
    }
  });

  it('fails with AmiUnusable when the image was built from another base', () => {
    const error = thrown(() => checkBakedImage(AMI, pipelineImage({}, { ManagedBy: 'ecs-ami-pipeline', SourceAmiId: 'ami-0eeeeeeeeeeeeeeee' }), BASE));
    expect(error.name).toBe('AmiUnusable');
    expect(error.message).toBe(`${AMI} was built from ami-0eeeeeeeeeeeeeeee, but the run asked for ${BASE}`);
  });
});
