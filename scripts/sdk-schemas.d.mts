/** Types for scripts/sdk-schemas.mjs. */
import type { Plugin } from 'esbuild';
export declare const sdkSchemas: Plugin;
export declare function preparedSchemas(schemaFile: string): Promise<{ contents: string; dropped: string[]; kept: string[] }>;
