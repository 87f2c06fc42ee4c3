/**
 * Sets environment variables for each test of the calling file and puts the previous values back
 * afterwards. `undefined` removes a variable for the test.
 */
export function useEnv(vars: Record<string, string | undefined>): void {
  const saved = new Map<string, string | undefined>();
  beforeEach(() => {
    for (const [name, value] of Object.entries(vars)) {
      saved.set(name, process.env[name]);
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    saved.clear();
  });
}

/** Removes a variable for the rest of one test (useEnv puts it back afterwards). */
export function unsetEnv(name: string): void {
  delete process.env[name];
}

/** Fixes the clock (Date only: promises and the SDK mocks keep running normally). */
export function freezeTime(iso: string): Date {
  const now = new Date(iso);
  jest.useFakeTimers({ now, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
  return now;
}

/** What a rejected promise threw, for assertions on its name and message. */
export async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the handler to throw');
}
