#!/usr/bin/env node
'use strict';
// The CLI ships as TypeScript and runs through tsx, so `npx ami-pipeline` works straight after
// `npm ci` with no build step. The namespace keeps tsx's loader to the CLI's own files.
const path = require('node:path');

// `npx ami-pipeline` runs on the project's Node 24 (node_modules/.bin/node). Started another way on
// an older node (20.19+ works), the SDK would warn on every start that its releases from 2027 need
// node 22; the lockfile pins the SDK, so the warning says nothing about this install.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = require('tsx/cjs/api');

const cli = register({ namespace: 'ami-pipeline' });
cli.require(path.join(__dirname, '..', 'cli', 'main.ts'), __filename);
