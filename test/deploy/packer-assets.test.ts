import { mkdtempSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const assets = require('../../deploy/packer-assets.js') as {
  assetFiles: (root: string) => string[];
  assetsSha256: (root: string, files?: string[]) => string;
  writeAssetsZip: (out: string, root: string, files?: string[]) => Promise<void>;
};

let root: string;

beforeEach(() => {
  // Not a git work tree, so the directory walk is what lists the files.
  root = mkdtempSync(path.join(tmpdir(), 'assets-'));
  for (const [file, content] of Object.entries({
    'packer/ecs-ami.pkr.hcl': 'source "amazon-ebs" "ecs" {}\n',
    'packer/scripts/storage.sh': '#!/usr/bin/env bash\n',
    'files/firstrun.sh': '#!/usr/bin/env bash\n',
    'buildspec/bake-ami.yml': 'version: 0.2\n',
    'packer/manifest.json': '{"builds":[]}',
    'README.md': 'not an asset',
  })) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

it('lists the Packer assets, not build outputs or other files', () => {
  expect(assets.assetFiles(root)).toEqual([
    'buildspec/bake-ami.yml',
    'files/firstrun.sh',
    'packer/ecs-ami.pkr.hcl',
    'packer/scripts/storage.sh',
  ]);
});

it('hashes content: the same files give the same hash, any change a new one', () => {
  const before = assets.assetsSha256(root);
  expect(assets.assetsSha256(root)).toBe(before);
  writeFileSync(path.join(root, 'packer/manifest.json'), '{"builds":[1]}');
  expect(assets.assetsSha256(root)).toBe(before);
  writeFileSync(path.join(root, 'files/firstrun.sh'), '#!/usr/bin/env bash\necho changed\n');
  expect(assets.assetsSha256(root)).not.toBe(before);
});

it('writes the same zip bytes for the same content, whatever the files\' timestamps', async () => {
  await assets.writeAssetsZip(path.join(root, 'out/a.zip'), root);
  for (const file of assets.assetFiles(root)) utimesSync(path.join(root, file), new Date('2030-01-01'), new Date('2030-01-01'));
  await assets.writeAssetsZip(path.join(root, 'out/b.zip'), root);
  expect(readFileSync(path.join(root, 'out/a.zip')).equals(readFileSync(path.join(root, 'out/b.zip')))).toBe(true);
});
