import { AWS_REGION_PATTERN, RUN_LEDGER, parameterNames, recommendedBaseAmiParameter } from '../../functions/lib/contracts';

describe('parameterNames', () => {
  it('puts every pipeline parameter under the stage prefix, ignoring a trailing slash', () => {
    const names = parameterNames('/ecs-ami-pipeline/prod/');
    const fixed = Object.values(names).filter((n): n is string => typeof n === 'string');
    // Four are functions: a cluster's record, and an architecture's latest image, its record and its current image.
    expect(fixed.length).toBe(Object.keys(names).length - 4);
    expect(names.currentAmiFor('arm64')).toBe('/ecs-ami-pipeline/prod/ami/arm64/current');
    expect(names.latestAmiFor('arm64')).toBe('/ecs-ami-pipeline/prod/ami/arm64/latest');
    expect(names.latestAmiRecordFor('arm64')).toBe('/ecs-ami-pipeline/prod/ami/arm64/latest/record');
    expect(fixed.every((n) => n.startsWith('/ecs-ami-pipeline/prod/'))).toBe(true);
    expect(names.currentAmi).toBe('/ecs-ami-pipeline/prod/ami/current');
    expect(names.baseAmiAttempts).toBe('/ecs-ami-pipeline/prod/base-ami/attempts');
    expect(new Set(fixed).size).toBe(fixed.length);
  });

  it('keeps one cluster record per stack, in the clusters folder', () => {
    const names = parameterNames('/ecs-ami-pipeline/prod//');
    expect(names.clusterRecords).toBe('/ecs-ami-pipeline/prod/clusters');
    expect(names.clusterRecord('prod-a-ecs')).toBe('/ecs-ami-pipeline/prod/clusters/prod-a-ecs');
    expect(names.clusterRecord('prod-a-ecs').startsWith(`${names.clusterRecords}/`)).toBe(true);
    expect(names.clusterRecord('a')).not.toBe(names.clusterRecord('b'));
  });
});

describe('RUN_LEDGER', () => {
  it('keys the lock and one notification marker per execution apart', () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:m:run-1';
    expect(RUN_LEDGER.notifiedKey(arn)).toBe(`notified#${arn}`);
    expect(RUN_LEDGER.notifiedKey(arn)).not.toBe(RUN_LEDGER.lockKey);
  });
});

describe('recommendedBaseAmiParameter', () => {
  it('selects the AL2023 parameter for the architecture', () => {
    expect(recommendedBaseAmiParameter('x86_64')).toBe('/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended');
    expect(recommendedBaseAmiParameter('arm64')).toBe('/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended');
  });
});

describe('AWS_REGION_PATTERN', () => {
  // Every partition's shape: commercial, GovCloud, China, the ISO partitions, the European Sovereign Cloud.
  it.each([
    'us-east-1',
    'us-gov-west-1',
    'cn-north-1',
    'cn-northwest-1',
    'eu-central-2',
    'ap-southeast-5',
    'mx-central-1',
    'il-central-1',
    'ca-west-1',
    'us-isob-east-1',
    'us-iso-east-1',
    'eusc-de-east-1',
  ])('accepts %s', (region) => {
    expect(AWS_REGION_PATTERN.test(region)).toBe(true);
  });

  it.each(['us-east-1; rm', 'US-EAST-1', 'us-east', 'useast1', '', 'us-east-1\n', ' us-east-1', 'us-east-123', 'useast-1', 'us--east-1', 'us-east-1-'])(
    'rejects %j',
    (value) => {
      expect(AWS_REGION_PATTERN.test(value)).toBe(false);
    },
  );
});
