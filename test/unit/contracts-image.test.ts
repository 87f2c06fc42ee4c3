/** The image's non-TypeScript parts (HCL, buildspec, shell, the cluster template) against the contracts. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  AMI_TAGS,
  AWS_REGION_PATTERN,
  BUILD_EXPORTS,
  BUILD_OVERRIDES,
  BUILD_PROJECT_ENV,
  FIRSTRUN_ENV,
  FIRSTRUN_PATH_IN_IMAGE,
  MANAGED_BY_VALUE,
} from '../../functions/lib/contracts';
import { loadCfnYaml } from '../../local/cfn-yaml';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const template = read('packer/ecs-ami.pkr.hcl');

function hclMap(name: string): Record<string, string> {
  // Up to the line that closes the map: values may contain Go template braces ({{ .SourceAMI }}).
  const block = new RegExp(`${name}\\s*=\\s*\\{\\n([\\s\\S]*?)\\n\\s*\\}\\s*\\n`).exec(template);
  if (!block) throw new Error(`no ${name} map in packer/ecs-ami.pkr.hcl`);
  return Object.fromEntries(
    [...block[1]!.matchAll(/^\s*([A-Za-z0-9]+)\s*=\s*(.+?)\s*$/gm)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]),
  );
}

it('tags the AMI and its snapshots with exactly the contract tags', () => {
  expect(Object.keys(hclMap('image_tags')).sort()).toEqual(Object.values(AMI_TAGS).sort());
  expect(hclMap('image_tags')[AMI_TAGS.managedBy]).toBe(MANAGED_BY_VALUE);
  expect(template).toMatch(/^\s*tags\s*=\s*local\.image_tags\s*$/m);
  expect(template).toMatch(/^\s*snapshot_tags\s*=\s*local\.image_tags\s*$/m);
});

it('tags the build instance so the bake role may terminate it (deploy/iam.js conditions on it)', () => {
  expect(hclMap('run_tags')[AMI_TAGS.managedBy]).toBe(MANAGED_BY_VALUE);
});

it('installs the first-run script where the cluster stack runs it', () => {
  expect(template).toContain(`firstrun_path = "${FIRSTRUN_PATH_IN_IMAGE}"`);
});

it('exports exactly the variables the pipeline reads back', () => {
  const buildspec = parse(read('buildspec/bake-ami.yml')) as { env: { 'exported-variables': string[] } };
  expect([...buildspec.env['exported-variables']].sort()).toEqual(Object.values(BUILD_EXPORTS).sort());
});

it('passes every per-build override and project variable on to Packer', () => {
  const vars = read('buildspec/packer-vars.sh');
  for (const name of [...Object.values(BUILD_OVERRIDES), ...Object.values(BUILD_PROJECT_ENV)]) {
    expect({ name, used: vars.includes(`\${${name}`) }).toEqual({ name, used: true });
  }
});

it('hands the first-run script exactly the inputs it reads', () => {
  const cluster = loadCfnYaml(path.join(ROOT, 'cluster', 'ecs-cluster.yml')) as any;
  const init = cluster.Resources.LaunchTemplate.Metadata['AWS::CloudFormation::Init'].config.commands['10_first_run'];
  expect(init.command).toContain(FIRSTRUN_PATH_IN_IMAGE);
  expect(Object.keys(init.env).filter((k) => k !== 'PATH').sort()).toEqual([...FIRSTRUN_ENV].sort());
  const firstrun = read('files/firstrun.sh');
  for (const name of FIRSTRUN_ENV) expect({ name, read: firstrun.includes(name) }).toEqual({ name, read: true });
});

it('checks region names in shell and HCL with exactly the contracts’ AWS_REGION_PATTERN', () => {
  const copies = {
    'files/firstrun.sh': /^readonly REGION_PATTERN='([^']+)'$/m,
    'buildspec/read-manifest.sh': /^readonly REGION_PATTERN='([^']+)'$/m,
    'packer/variables.pkr.hcl': /condition\s*=\s*can\(regex\("([^"]+)", var\.region\)\)/,
  };
  for (const [file, copy] of Object.entries(copies)) {
    expect([file, copy.exec(read(file))?.[1]]).toEqual([file, AWS_REGION_PATTERN.source]);
  }
  // ... and the shell scripts test with that variable, not with a pattern of their own.
  for (const file of ['files/firstrun.sh', 'buildspec/read-manifest.sh']) {
    expect(read(file)).toMatch(/=~ \$REGION_PATTERN\b/);
    expect(read(file).match(/\[a-z\]\{2,4\}/g)).toHaveLength(1);
  }
});
