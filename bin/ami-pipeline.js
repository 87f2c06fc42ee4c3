#!/usr/bin/env node
'use strict';
// The CLI ships as TypeScript and runs through tsx, so `npx ami-pipeline` works straight after
// `npm ci` with no build step. The namespace keeps tsx's loader to the CLI's own files.
const path = require('node:path');

// The SDK warns on every start under node 20 that its releases from 2027 need node 22. The
// lockfile pins the SDK, so the warning says nothing about this install; it would only bury the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = require('tsx/cjs/api');

const cli = register({ namespace: 'ami-pipeline' });
cli.require(path.join(__dirname, '..', 'cli', 'main.ts'), __filename);
