/** Types for scripts/sdk-schemas.mjs. */
import type { Plugin } from 'esbuild';
export declare const sdkSchemas: Plugin;
