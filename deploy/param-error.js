'use strict';
// The error a packaging-time check throws for a stage param: one line that names the param and the
// fix. osls prints a rejected variable's stack; this one is only its message, so `make package`
// (scripts/package.sh) can show the person exactly that line, once.

function paramError(message) {
  const error = new Error(message.startsWith('serverless.yml ') ? message : `serverless.yml ${message}`);
  error.stack = error.message;
  return error;
}

module.exports = { paramError };
