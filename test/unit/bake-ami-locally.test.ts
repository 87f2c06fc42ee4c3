/**
 * `make ami` (scripts/bake-ami-locally.sh) must bake from the same base as the pipeline: the same
 * public parameter per architecture and the same default build instance. The script's own
 * functions are run, so a change on either side fails here instead of drifting.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BASE_AMI_ARCHITECTURES, recommendedBaseAmiParameter } from '../../functions/lib/contracts';
import { DEFAULT_BUILD_INSTANCE_TYPES } from '../../functions/lib/decisions/instance-types';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'bake-ami-locally.sh');

function scriptFunction(name: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-c', 'source "$1"; shift; "$@"', '_', SCRIPT, name, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

it.each(BASE_AMI_ARCHITECTURES)('reads the pipeline recommended parameter for %s', (architecture) => {
  expect(scriptFunction('recommended_parameter', architecture)).toMatchObject({
    status: 0,
    stdout: recommendedBaseAmiParameter(architecture),
  });
});

it.each(BASE_AMI_ARCHITECTURES)('builds on the pipeline default instance type for %s', (architecture) => {
  expect(scriptFunction('default_build_instance_type', architecture)).toMatchObject({
    status: 0,
    stdout: DEFAULT_BUILD_INSTANCE_TYPES[architecture],
  });
});

it('knows no architecture the pipeline does not', () => {
  const result = scriptFunction('recommended_parameter', 'i386');
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain("ARCHITECTURE 'i386' must be x86_64 or arm64");
});
