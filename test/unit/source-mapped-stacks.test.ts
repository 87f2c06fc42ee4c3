/**
 * functions/lib/source-mapped-stacks.ts: how a bundled function writes a stack trace. The bundle
 * itself is checked in test/deploy/bundle-slimming.test.ts; here, the frames one by one.
 */
import { encode } from '@jridgewell/sourcemap-codec';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatStack, installSourceMappedStacks, lookupIn, type PositionLookup } from '../../functions/lib/source-mapped-stacks';

const BUNDLE = '/var/task/index.js';

function site(text: string, file: string | null, line: number | null, column: number | null): NodeJS.CallSite {
  return { toString: () => text, getFileName: () => file, getLineNumber: () => line, getColumnNumber: () => column } as unknown as NodeJS.CallSite;
}

const ourCodeAt: PositionLookup = (line, column) => (line === 3 && column === 40 ? 'functions/notify/handler.ts:12:7' : undefined);

describe('formatStack', () => {
  it('replaces the position of a frame of the bundle that maps to our code, and only that', () => {
    const stack = formatStack(
      new TypeError('no topic'),
      [
        site(`publish (${BUNDLE}:3:40)`, BUNDLE, 3, 40),
        site(`send (${BUNDLE}:3:900)`, BUNDLE, 3, 900),
        site('processTicksAndRejections (node:internal/process/task_queues:105:5)', 'node:internal/process/task_queues', 105, 5),
        site('/opt/other.js:3:40', '/opt/other.js', 3, 40),
        site('async Promise.all (index 0)', null, null, null),
      ],
      BUNDLE,
      ourCodeAt,
    );
    expect(stack.split('\n')).toEqual([
      'TypeError: no topic',
      '    at publish (functions/notify/handler.ts:12:7)',
      `    at send (${BUNDLE}:3:900)`,
      '    at processTicksAndRejections (node:internal/process/task_queues:105:5)',
      '    at /opt/other.js:3:40',
      '    at async Promise.all (index 0)',
    ]);
  });

  it("writes Node's own errors with their code, as Node does", () => {
    let thrown: unknown;
    try {
      Buffer.from(1 as never);
    } catch (error) {
      thrown = error;
    }
    expect((thrown as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(formatStack(thrown, [], BUNDLE, ourCodeAt)).toBe(`TypeError [ERR_INVALID_ARG_TYPE]: ${(thrown as Error).message}`);
    // A code alone is not Node's mark: URL's errors come from C++, and Node writes them without it.
    const fromCpp = Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL' });
    expect(formatStack(fromCpp, [], BUNDLE, ourCodeAt)).toBe('TypeError: Invalid URL');
  });

  it('writes a header even for a thrown value that cannot say what it is', () => {
    const hostile = { get name(): string { throw new Error('no name'); } };
    expect(formatStack(hostile, [], BUNDLE, ourCodeAt)).toBe('<error>');
    expect(formatStack(Object.assign(new Error('boom'), { name: 'ThrottlingException' }), [], BUNDLE, ourCodeAt)).toBe('ThrottlingException: boom');
  });
});

describe('lookupIn', () => {
  const map = new SourceMap({
    version: 3,
    file: 'index.js',
    sources: ['../../../functions/notify/handler.ts'],
    sourcesContent: [],
    names: [],
    // Line 1: our code at columns 0-9, unmapped (a dependency) from column 10.
    mappings: `${encode([[[0, 0, 11, 6], [10]]])};`,
    sourceRoot: '',
  } as unknown as ConstructorParameters<typeof SourceMap>[0]);
  const lookup = lookupIn(map);

  it('names our source from the repository root, with one-based lines and columns', () => {
    expect(lookup(1, 1)).toBe('functions/notify/handler.ts:12:7');
    expect(lookup(1, 5)).toBe('functions/notify/handler.ts:12:7');
  });

  it('finds nothing where the bundle is a dependency', () => {
    expect(lookup(1, 11)).toBeUndefined();
  });
});

describe('installSourceMappedStacks', () => {
  const saved = Error.prepareStackTrace;
  afterEach(() => {
    Error.prepareStackTrace = saved;
  });

  it('installs nothing outside a bundle: no map beside the module', () => {
    expect(installSourceMappedStacks()).toBe(false);
    expect(Error.prepareStackTrace).toBe(saved);
  });

  it('maps through the map beside the bundle, read when a stack is first written out; an unreadable map leaves frames as they are', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mapped-stacks-'));
    try {
      const bundle = path.join(dir, 'index.js');
      writeFileSync(`${bundle}.map`, JSON.stringify({ version: 3, sources: ['../functions/a.ts'], names: [], mappings: `${encode([[[0, 0, 4, 2]]])};` }));
      expect(installSourceMappedStacks(bundle)).toBe(true);
      const format = Error.prepareStackTrace!;
      // Changed after installing: the map is read at the first stack, not before.
      writeFileSync(`${bundle}.map`, JSON.stringify({ version: 3, sources: ['../functions/b.ts'], names: [], mappings: `${encode([[[0, 0, 4, 2]]])};` }));
      expect(format(new Error('x'), [site(`${bundle}:1:5`, bundle, 1, 5)])).toBe('Error: x\n    at functions/b.ts:5:3');

      Error.prepareStackTrace = saved;
      writeFileSync(`${bundle}.map`, 'not json');
      expect(installSourceMappedStacks(bundle)).toBe(true);
      expect(Error.prepareStackTrace!(new Error('y'), [site(`${bundle}:1:5`, bundle, 1, 5)])).toBe(`Error: y\n    at ${bundle}:1:5`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
