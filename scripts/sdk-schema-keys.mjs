// An esbuild plugin that lets esbuild drop the AWS SDK schemas a function never uses.
//
// Since 3.930 the SDK's generated `schemas/schemas_0.js` writes member traits with computed keys
// that name a string constant of the same file (`const _xN = "xmlName"; … { [_xN]: _it }`).
// esbuild must assume a computed key may run code (a getter, a toString), so it keeps every
// statement that holds one: for EC2, whose query protocol puts an xmlName trait on most members,
// that is about 540 KiB of schemas in every function that creates an EC2Client, used or not
// (aws/aws-sdk-js-v3#7607, evanw/esbuild#4373). The fix proposed upstream
// (smithy-lang/smithy-typescript#1889) writes the key as the literal string; this plugin does the
// same at bundle time, and only where the key is a `const` of that file bound to a plain string
// literal, so the module's values stay exactly what they were (test/deploy/sdk-schema-keys.test.ts
// compares them). Once the SDK ships literal keys there is nothing left to rewrite and the plugin
// changes nothing.
import { readFile } from 'node:fs/promises';

export const SCHEMA_FILE = /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/](?:.*[\\/])?schemas[\\/]schemas_\d+\.js$/;

const STRING_CONST = /^const (_[A-Za-z0-9_$]*) = ("(?:[^"\\\n]|\\.)*");$/gm;
const COMPUTED_KEY = /\[(_[A-Za-z0-9_$]*)\]:/g;

/** The source with each computed key that names a string constant of the file written as that string. */
export function literalSchemaKeys(source) {
  const strings = new Map([...source.matchAll(STRING_CONST)].map((m) => [m[1], m[2]]));
  let rewritten = 0;
  const contents = source.replace(COMPUTED_KEY, (key, name) => {
    const value = strings.get(name);
    if (value === undefined) return key;
    rewritten += 1;
    return `${value}:`;
  });
  return { contents, rewritten };
}

export const sdkSchemaKeys = {
  name: 'sdk-schema-keys',
  setup(build) {
    build.onLoad({ filter: SCHEMA_FILE }, async (args) => ({
      contents: literalSchemaKeys(await readFile(args.path, 'utf8')).contents,
      loader: 'js',
    }));
  },
};
