/** Types for scripts/sdk-error-registrations.mjs. */
export declare function retryableOrServerErrors(errorsSource: string): Set<string>;
export declare function errorsWithTypedMembers(schemasSource: string): Set<string>;
export declare function renamedQueryErrors(schemasSource: string): Map<string, string>;
export declare function clientProtocol(runtimeConfigSource: string | undefined): string | undefined;
export declare function withoutModeledErrorRegistrations(client: { schemas: string; errors: string | undefined; protocol: string | undefined }): { contents: string; dropped: string[]; kept: string[] };
