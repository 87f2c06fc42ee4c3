/** Types for scripts/sdk-schema-keys.mjs. */
import type { Plugin } from 'esbuild';
export declare const SCHEMA_FILE: RegExp;
export declare function literalSchemaKeys(source: string): { contents: string; rewritten: number };
export declare const sdkSchemaKeys: Plugin;
