// aws-local-stepfunctions declares node >= 22 and uses Promise.withResolvers, which node 20 lacks.
// The Lambda runtime is nodejs22.x, so this only matters for running the tests on node 20.
const promiseCtor = Promise as unknown as { withResolvers?: unknown };
if (typeof promiseCtor.withResolvers !== 'function') {
  promiseCtor.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
export {};

// Handlers log JSON through Powertools; tests assert on behaviour, so keep their output quiet
// unless someone asks for it with POWERTOOLS_LOG_LEVEL=DEBUG.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

// The SDK warns that releases from 2027 need node 22. The functions run on nodejs22.x; the
// warning is about this machine's node 20, which only runs the tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
