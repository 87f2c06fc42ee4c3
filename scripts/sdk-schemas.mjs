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

/** A client's schemas module (dist-es/schemas/schemas_N.js) as a function bundle gets it, with the registrations dropped and kept. */
export async function preparedSchemas(schemaFile) {
  const schemas = literalSchemaKeys(await readFile(schemaFile, 'utf8')).contents;
  const errors = await clientFile(schemaFile, path.join('models', 'errors.js'));
  const protocol = clientProtocol(await clientFile(schemaFile, 'runtimeConfig.shared.js'));
  return withoutModeledErrorRegistrations({ schemas, errors, protocol });
}

export const sdkSchemas = {
  name: 'sdk-schemas',
  setup(build) {
    build.onLoad({ filter: SCHEMA_FILE }, async (args) => ({ contents: (await preparedSchemas(args.path)).contents, loader: 'js' }));
  },
};
