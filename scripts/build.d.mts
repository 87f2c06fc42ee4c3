/** Types for scripts/build.mjs, which the deploy plugin (plain JS) and TypeScript scripts share. */
export declare function functionNames(): string[];
export declare function bundleFunctions(): Promise<string[]>;
export declare function bundleFunction(entry: string, outfile: string): Promise<void>;
