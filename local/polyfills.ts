// aws-local-stepfunctions declares node >= 22 and uses Promise.withResolvers, which node 20 lacks.
// The Lambda runtime is nodejs22.x, so this only matters for running the state machine locally
// (tests and the demo) on node 20.
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
