import fc from 'fast-check';
import { COPY_TAGS } from '../../functions/lib/contracts';
import { copyClientToken, copyProgress, copyTags, MAX_COPY_REGIONS, parseCopyTargets, regionalTargetsOfOtherArchitectures, targetsWithoutCopies } from '../../functions/lib/decisions/copies';
import { NO_SHARING } from '../../functions/lib/decisions/sharing';

const KEY = (region: string) => `arn:aws:kms:${region}:123456789012:key/11111111-2222-3333-4444-555555555555`;
const SHARING = { ...NO_SHARING, accounts: ['111122223333'] };

describe('parseCopyTargets', () => {
  it('reads region names and {region, kmsKeyId}, and nothing as none', () => {
    expect(parseCopyTargets(['eu-west-1', { region: 'eusc-de-east-1', kmsKeyId: KEY('eusc-de-east-1') }], 'us-east-1', NO_SHARING)).toEqual({
      ok: true,
      targets: [{ region: 'eu-west-1' }, { region: 'eusc-de-east-1', kmsKeyId: KEY('eusc-de-east-1') }],
    });
    for (const none of [undefined, null, '', []]) expect(parseCopyTargets(none, 'us-east-1', NO_SHARING)).toEqual({ ok: true, targets: [] });
  });

  it.each([
    ['eu-west-1', 'must be a list'],
    [['us-east-1'], '[0].region us-east-1 is the stage\'s own region'],
    [['eu-west-1', { region: 'eu-west-1' }], '[1].region eu-west-1 is named twice'],
    [['eu-west-1; rm'], 'is not a region name'],
    [[{ region: 'eu-west-1', kmsKeyId: 'alias/ebs' }], '[0].kmsKeyId must be the full ARN of a KMS key'],
    [[{ region: 'eu-west-1', kmsKeyId: KEY('eu-central-1') }], '[0].kmsKeyId is a key of eu-central-1; a copy in eu-west-1 is encrypted with a key of eu-west-1'],
    [[{ region: 'eu-west-1', key: 'x' }], '[0] has unknown field(s) key'],
    [[42], '[0] must be a region name or {region, kmsKeyId}'],
    [Array.from({ length: MAX_COPY_REGIONS + 1 }, (_, i) => `eu-west-${i + 1}`), 'copy to at most 10'],
  ])('refuses %j, naming the entry and the fix', (raw, problem) => {
    const result = parseCopyTargets(raw, 'us-east-1', NO_SHARING);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problem).toContain(problem);
  });

  it('refuses a copy under the AWS managed key when the stage shares its images', () => {
    expect(parseCopyTargets(['eu-west-1'], 'us-east-1', SHARING)).toEqual({
      ok: false,
      problem: '[0] eu-west-1 needs a kmsKeyId: the stage shares its images (shareWith), and a copy under the AWS managed key cannot be shared',
    });
    expect(parseCopyTargets([{ region: 'eu-west-1', kmsKeyId: KEY('eu-west-1') }], 'us-east-1', SHARING).ok).toBe(true);
  });
});

describe('copyTags', () => {
  it('keeps the image\'s tags, drops AWS-reserved and stale copy tags, and says where the copy came from', () => {
    const tags = copyTags(
      [
        { Key: 'ManagedBy', Value: 'ecs-ami-pipeline' },
        { Key: 'aws:cloudformation:stack-name', Value: 'x' },
        { Key: COPY_TAGS.copiedFrom, Value: 'ami-old' },
      ],
      'ami-0123456789abcdef0',
      'us-east-1',
    );
    expect(tags).toEqual([
      { Key: 'ManagedBy', Value: 'ecs-ami-pipeline' },
      { Key: COPY_TAGS.copiedFrom, Value: 'ami-0123456789abcdef0' },
      { Key: COPY_TAGS.copiedFromRegion, Value: 'us-east-1' },
    ]);
  });
});

describe('copyClientToken', () => {
  it('is the same for the same run and region, different otherwise, and never longer than 64 characters', () => {
    const name = fc.string({ minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(name, fc.constantFrom('eu-west-1', 'ap-southeast-2', 'eusc-de-east-1'), fc.constantFrom('us-west-2', 'ca-west-1'), (run, a, b) => {
        expect(copyClientToken(run, a)).toBe(copyClientToken(run, a));
        expect(copyClientToken(run, a)).not.toBe(copyClientToken(run, b));
        expect(copyClientToken(run, a).length).toBeLessThanOrEqual(64);
      }),
    );
  });
});

describe('copyProgress', () => {
  it.each([
    ['available', 'available'],
    ['pending', 'pending'],
    [undefined, 'pending'],
    ['failed', 'failed'],
    ['error', 'failed'],
    ['deregistered', 'failed'],
  ])('%s is %s', (state, progress) => expect(copyProgress(state)).toBe(progress));
});

describe('targetsWithoutCopies', () => {
  it('names each cluster target in a region the image is not copied to', () => {
    const waves = [
      { name: 'dev', clusters: [{ stackName: 'dev-ecs' }, { stackName: 'dev-home', region: 'us-east-1' }] },
      { name: 'prod', clusters: [{ stackName: 'prod-eu', region: 'eu-west-1' }, { stackName: 'prod-ap', region: 'ap-southeast-2' }] },
    ];
    expect(targetsWithoutCopies(waves, 'us-east-1', [{ region: 'eu-west-1' }])).toEqual([
      'waves[1].clusters[1] (prod-ap) is in ap-southeast-2, which copyToRegions does not name: add ap-southeast-2 to copyToRegions',
    ]);
    expect(targetsWithoutCopies(waves, 'us-east-1', [{ region: 'eu-west-1' }, { region: 'ap-southeast-2' }])).toEqual([]);
  });
});

describe('regionalTargetsOfOtherArchitectures', () => {
  it('names a cluster in another region of another architecture than the stage\'s', () => {
    const waves = [{ clusters: [{ stackName: 'a', region: 'eu-west-1', architecture: 'arm64' }, { stackName: 'b', architecture: 'arm64' }, { stackName: 'c', region: 'eu-west-1' }] }];
    expect(regionalTargetsOfOtherArchitectures(waves, 'us-east-1', 'x86_64')).toEqual([
      'waves[0].clusters[0] (a) is arm64 in eu-west-1: copies to other regions are of baseAmiArchitecture (x86_64) only',
    ]);
    expect(regionalTargetsOfOtherArchitectures(waves, 'us-east-1', 'arm64')).toEqual([]);
  });
});
