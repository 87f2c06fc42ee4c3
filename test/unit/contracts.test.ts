import { parameterNames, recommendedBaseAmiParameter } from '../../functions/lib/contracts';

describe('parameterNames', () => {
  it('puts every pipeline parameter under the stage prefix, ignoring a trailing slash', () => {
    const names = parameterNames('/ecs-ami-pipeline/prod/');
    expect(Object.values(names).every((n) => n.startsWith('/ecs-ami-pipeline/prod/'))).toBe(true);
    expect(names.currentAmi).toBe('/ecs-ami-pipeline/prod/ami/current');
    expect(new Set(Object.values(names)).size).toBe(Object.values(names).length);
  });
});

describe('recommendedBaseAmiParameter', () => {
  it('selects the AL2023 parameter for the architecture', () => {
    expect(recommendedBaseAmiParameter('x86_64')).toBe('/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended');
    expect(recommendedBaseAmiParameter('arm64')).toBe('/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended');
  });
});
