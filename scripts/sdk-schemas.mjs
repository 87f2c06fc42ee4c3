// The esbuild plugin that prepares each AWS SDK client's schemas module for a function bundle, with
// both rewrites in one load (esbuild runs only the first plugin that loads a file):
// - scripts/sdk-schema-keys.mjs: literal trait keys, so esbuild can drop the schemas never used;
// - scripts/sdk-error-registrations.mjs: no load-time registration of the modeled exceptions that
//   a function sees the same without.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { clientProtocol, withoutModeledErrorRegistrations } from './sdk-error-registrations.mjs';
import { SCHEMA_FILE, literalSchemaKeys } from './sdk-schema-keys.mjs';

/** A file of the client beside its schemas directory, or undefined when the client has none. */
async function clientFile(schemaFile, relative) {
  try {
    return await readFile(path.join(path.dirname(schemaFile), '..', relative), 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

export const sdkSchemas = {
  name: 'sdk-schemas',
  setup(build) {
    build.onLoad({ filter: SCHEMA_FILE }, async (args) => {
      const schemas = literalSchemaKeys(await readFile(args.path, 'utf8')).contents;
      const errors = await clientFile(args.path, path.join('models', 'errors.js'));
      const protocol = clientProtocol(await clientFile(args.path, 'runtimeConfig.shared.js'));
      return { contents: withoutModeledErrorRegistrations({ schemas, errors, protocol }).contents, loader: 'js' };
    });
  },
};
