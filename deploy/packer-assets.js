'use strict';
// The Packer assets (packer/, files/, buildspec/) the CodeBuild project bakes from, addressed by
// the SHA-256 of their content: the S3 key, the CodeBuild variable PACKER_ASSETS_SHA256 and the
// AMI tag PackerAssetsSha256 all carry it, so an image names exactly what it was baked from.
const { createHash } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { createWriteStream, readFileSync, readdirSync, statSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const ASSET_DIRS = ['packer', 'files', 'buildspec'];
// Build outputs that may sit next to the assets on a laptop.
const IGNORED = /(^|\/)(manifest\.json|build-info\.json|packer_cache\/.*|.*\.log)$/;

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

/** Relative paths of the asset files, sorted; git's view when in a work tree, else the directories. */
function assetFiles(root = ROOT) {
  let files;
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...ASSET_DIRS], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    files = out.toString('utf8').split('\0').filter(Boolean);
  } catch {
    files = ASSET_DIRS.flatMap((d) => {
      const dir = path.join(root, d);
      try {
        return walk(dir).map((f) => path.relative(root, f).split(path.sep).join('/'));
      } catch {
        return [];
      }
    });
  }
  files = files.filter((f) => !IGNORED.test(f) && statSync(path.join(root, f), { throwIfNoEntry: false })?.isFile());
  if (files.length === 0) throw new Error(`no Packer assets found under ${ASSET_DIRS.join(', ')} in ${root}`);
  return [...new Set(files)].sort();
}

/** SHA-256 over every file's path and content, independent of timestamps and zip details. */
function assetsSha256(root = ROOT, files = assetFiles(root)) {
  const hash = createHash('sha256');
  for (const file of files) {
    const content = createHash('sha256').update(readFileSync(path.join(root, file))).digest('hex');
    hash.update(`${file}\0${content}\n`);
  }
  return hash.digest('hex');
}

function assetsKey(sha256) {
  return `packer-assets/${sha256}.zip`;
}

/** A zip of the assets with fixed timestamps and modes, so the same content gives the same bytes. */
function writeAssetsZip(outFile, root = ROOT, files = assetFiles(root)) {
  const yazl = require('yazl');
  mkdirSync(path.dirname(outFile), { recursive: true });
  const zip = new yazl.ZipFile();
  for (const file of files) {
    const executable = (statSync(path.join(root, file)).mode & 0o111) !== 0;
    zip.addBuffer(readFileSync(path.join(root, file)), file, {
      mtime: new Date('2020-01-01T00:00:00Z'),
      mode: executable ? 0o100755 : 0o100644,
    });
  }
  zip.end();
  return new Promise((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(outFile)).on('close', resolve).on('error', reject);
  });
}

// serverless.yml resolves the digest in two places and the plugin needs it again: hash the tree once.
let packagedDigest;
const digestOfThisTree = () => (packagedDigest ??= assetsSha256());

module.exports = {
  ASSET_DIRS,
  assetFiles,
  assetsSha256,
  assetsKey,
  writeAssetsZip,
  digestOfThisTree,
  // serverless.yml variable resolvers
  sha256: digestOfThisTree,
  s3Key: () => assetsKey(digestOfThisTree()),
};
