/** Types for scripts/own-source-map.mjs. */
export interface SourceMapV3 {
  version: number;
  sources: string[];
  names: string[];
  mappings: string;
  sourcesContent?: (string | null)[];
  [field: string]: unknown;
}
export declare function ownSourceMap(map: SourceMapV3): SourceMapV3;
