import { buildInstanceTypeFor, instanceTypeArchitecture } from '../../functions/lib/decisions/instance-types';

describe('instanceTypeArchitecture', () => {
  it.each(['t4g.medium', 'm7gd.xlarge', 'c6gn.16xlarge', 'im4gn.large', 'is4gen.xlarge', 'x2gd.metal', 'hpc7g.16xlarge', 'g5g.2xlarge', 'r8g.large', 'a1.large', 'c7g.medium'])(
    '%s is arm64 (Graviton)',
    (type) => expect(instanceTypeArchitecture(type)).toBe('arm64'),
  );

  it.each(['t3.medium', 't3a.large', 'm5.large', 'm6i.xlarge', 'm7i-flex.large', 'c5n.18xlarge', 'g4dn.xlarge', 'p5en.48xlarge', 'z1d.large', 'x2iedn.xlarge', 'u-6tb1.metal', 'inf2.xlarge', 'mac2-m2pro.metal', 'g6e.xlarge'])(
    '%s is x86_64',
    (type) => expect(instanceTypeArchitecture(type)).toBe('x86_64'),
  );

  it.each(['', 't3', 'medium', 'T3.MEDIUM', 't3.medium; rm', 'a.large'])('%j is not an instance type', (type) => {
    expect(instanceTypeArchitecture(type)).toBeUndefined();
  });
});

describe('buildInstanceTypeFor', () => {
  it('defaults to a burstable type of the architecture', () => {
    expect(buildInstanceTypeFor('x86_64', '')).toEqual({ ok: true, instanceType: 't3.medium' });
    expect(buildInstanceTypeFor('arm64', '  ')).toEqual({ ok: true, instanceType: 't4g.medium' });
  });

  it('takes a configured type of the same architecture', () => {
    expect(buildInstanceTypeFor('arm64', 'c7g.large')).toEqual({ ok: true, instanceType: 'c7g.large' });
    expect(buildInstanceTypeFor('x86_64', 'm6i.large')).toEqual({ ok: true, instanceType: 'm6i.large' });
  });

  it('refuses an arm64 base with the x86 default type, naming both params and the fix', () => {
    const result = buildInstanceTypeFor('arm64', 't3.medium');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toBe(
      't3.medium runs x86_64, but baseAmiArchitecture is arm64: the build would fail to launch the base AMI. Set buildInstanceType to an arm64 type (e.g. t4g.medium), or leave it empty for that default',
    );
  });

  it('refuses what is not an instance type', () => {
    expect(buildInstanceTypeFor('x86_64', 'large')).toEqual({ ok: false, problem: '"large" is not an EC2 instance type like t3.medium' });
  });
});
