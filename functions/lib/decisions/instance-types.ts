import type { BaseAmiArchitecture } from '../contracts';

/** The build instance when none is configured: the same burstable size on each architecture. */
export const DEFAULT_BUILD_INSTANCE_TYPES: Record<BaseAmiArchitecture, string> = { x86_64: 't3.medium', arm64: 't4g.medium' };

/** An EC2 instance type name: family, a dot, size (t3.medium, c7gn.16xlarge, m7i-flex.large, u-6tb1.metal). */
export const INSTANCE_TYPE_PATTERN = /^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$/;

/**
 * The architecture an instance type runs, from its family name. Graviton families carry a `g` after
 * the generation digit (t4g, m7gd, c6gn, im4gn, x2gd, hpc7g, g5g), and a1 was the first; every other
 * family (t3, m5a, m7i-flex, c5n, g4dn, p5en, u-6tb1) is x86_64. Undefined for a name that is not an
 * instance type.
 */
export function instanceTypeArchitecture(instanceType: string): BaseAmiArchitecture | undefined {
  const match = INSTANCE_TYPE_PATTERN.exec(instanceType);
  if (!match) return undefined;
  const family = match[1]!;
  if (family === 'a1') return 'arm64';
  const afterGeneration = /^[a-z-]*?\d+(.*)$/.exec(family)?.[1];
  if (afterGeneration === undefined) return undefined;
  return afterGeneration.split('-')[0]!.includes('g') ? 'arm64' : 'x86_64';
}

/**
 * The build instance type for the configured architecture: the default for it when none is set, the
 * configured one when it runs that architecture, else an error that names both params.
 */
export function buildInstanceTypeFor(
  architecture: BaseAmiArchitecture,
  configured: string,
): { ok: true; instanceType: string } | { ok: false; problem: string } {
  const value = configured.trim();
  if (value === '') return { ok: true, instanceType: DEFAULT_BUILD_INSTANCE_TYPES[architecture] };
  const runs = instanceTypeArchitecture(value);
  if (runs === undefined) return { ok: false, problem: `${JSON.stringify(value)} is not an EC2 instance type like ${DEFAULT_BUILD_INSTANCE_TYPES[architecture]}` };
  if (runs !== architecture) {
    return {
      ok: false,
      problem: `${value} runs ${runs}, but baseAmiArchitecture is ${architecture}: the build would fail to launch the base AMI. Set buildInstanceType to an ${architecture} type (e.g. ${DEFAULT_BUILD_INSTANCE_TYPES[architecture]}), or leave it empty for that default`,
    };
  }
  return { ok: true, instanceType: value };
}
