'use strict';
// A local Serverless plugin that keeps `serverless deploy` one command:
//  - before packaging, bundle every function with esbuild (scripts/build.mjs);
//  - after packaging, zip the Packer assets next to the other artifacts;
//  - after the artifacts are uploaded, upload that zip to the deployment bucket under its
//    content hash, which the CodeBuild project's source location names.
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { assetFiles, assetsKey, assetsSha256, writeAssetsZip } = require('./packer-assets');

const ZIP_NAME = 'packer-assets.zip';
// The digest the packaged template's CodeBuild source names; a later deploy of that package must
// upload under it, whatever the working tree looks like by then.
const DIGEST_NAME = 'packer-assets.sha256';

class PipelineArtifacts {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.options = options;
    this.log = log ?? { notice: console.log, info: console.log };
    this.provider = serverless.getProvider('aws');
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.bundleFunctions(),
      'before:deploy:function:packageFunction': () => this.bundleFunctions(),
      'after:package:createDeploymentArtifacts': () => this.zipPackerAssets(),
      'after:aws:deploy:deploy:uploadArtifacts': () => this.uploadPackerAssets(),
    };
  }

  // Serverless builds every artifact in <service>/.serverless and, with --package <dir>, copies
  // that directory there at the end; a deploy from a package reads from <dir>.
  workDir() {
    return path.join(this.serverless.serviceDir, '.serverless');
  }

  packageDir() {
    return this.options.package ?? this.workDir();
  }

  async bundleFunctions() {
    const build = await import(pathToFileURL(path.join(__dirname, '..', 'scripts', 'build.mjs')).href);
    const names = await build.bundleFunctions();
    this.log.info(names.reused ? `${names.length} function bundles are up to date` : `bundled ${names.length} functions with esbuild`);
  }

  async zipPackerAssets() {
    const files = assetFiles();
    const digest = assetsSha256(undefined, files);
    await writeAssetsZip(path.join(this.workDir(), ZIP_NAME), undefined, files);
    writeFileSync(path.join(this.workDir(), DIGEST_NAME), `${digest}\n`);
    this.log.info(`Packer assets: ${files.length} files, sha256 ${digest}`);
  }

  async uploadPackerAssets() {
    const zip = path.join(this.packageDir(), ZIP_NAME);
    const digestFile = path.join(this.packageDir(), DIGEST_NAME);
    if (!existsSync(zip) || !existsSync(digestFile)) throw new Error(`${zip} or its digest is missing; package the service again`);
    const bucket = await this.provider.getServerlessDeploymentBucketName();
    const key = assetsKey(readFileSync(digestFile, 'utf8').trim());
    // Content-addressed: an object already under this key holds exactly these bytes' content.
    try {
      await this.provider.request('S3', 'headObject', { Bucket: bucket, Key: key });
      this.log.info(`Packer assets already in s3://${bucket}/${key}`);
      return;
    } catch {
      // not there yet
    }
    await this.provider.request('S3', 'putObject', {
      Bucket: bucket,
      Key: key,
      Body: readFileSync(zip),
      ContentType: 'application/zip',
      ServerSideEncryption: 'AES256',
    });
    this.log.notice(`uploaded Packer assets to s3://${bucket}/${key}`);
  }
}

module.exports = PipelineArtifacts;
