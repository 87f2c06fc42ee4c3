/**
 * scripts/own-source-map.mjs trims a bundle's source map to the project's own code. The properties:
 * every mapping into our sources survives exactly (same generated position, same file, line,
 * column and name), nothing into node_modules does, and Node's own lookup (the one
 * --enable-source-maps uses) finds for any position of the bundle what it found before when that
 * was our code, and no source at all when it was a dependency.
 */
import { decode, encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec';
import fc from 'fast-check';
import { SourceMap } from 'node:module';
import { ownSourceMap, type SourceMapV3 } from '../../scripts/own-source-map.mjs';

type Resolved = [generatedColumn: number, source: string, line: number, column: number, name?: string];

/** Each line's segments with their source and name written out, so two maps compare by meaning, not by index. */
function resolved(map: SourceMapV3): Resolved[][] {
  return decode(map.mappings).map((line) =>
    line
      .filter((segment) => segment.length > 1)
      .map((segment) => {
        const [column, source, originalLine, originalColumn, name] = segment as [number, number, number, number, number?];
        const entry: Resolved = [column, map.sources[source]!, originalLine, originalColumn];
        if (name !== undefined) entry.push(map.names[name]);
        return entry;
      }),
  );
}

const sourceName = fc.oneof(
  fc.constantFrom('../../functions/notify/handler.ts', '../../functions/lib/decisions/waves.ts', '../../functions/lib/aws/ssm.ts'),
  fc.constantFrom('../../node_modules/@aws-sdk/client-ec2/dist-es/EC2Client.js', '../../node_modules/zod/v3/types.js', 'node_modules\\@smithy\\core\\index.js'),
);

const sourceMap = fc
  .record({
    sources: fc.uniqueArray(sourceName, { minLength: 1, maxLength: 6 }),
    names: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 8 }),
  })
  .chain(({ sources, names }) => {
    const segment: fc.Arbitrary<SourceMapSegment> = fc.oneof(
      fc.tuple(fc.nat(5000)),
      fc.tuple(fc.nat(5000), fc.nat(sources.length - 1), fc.nat(900), fc.nat(200)),
      ...(names.length > 0 ? [fc.tuple(fc.nat(5000), fc.nat(sources.length - 1), fc.nat(900), fc.nat(200), fc.nat(names.length - 1))] : []),
    );
    // One segment per generated column, as a bundler writes them (two at one column would make the lookup ambiguous).
    return fc.array(fc.uniqueArray(segment, { maxLength: 12, selector: (s) => s[0] }), { maxLength: 20 }).map(
      (lines): SourceMapV3 => ({ version: 3, sources, names, mappings: encode(lines.map((line) => [...line].sort((a, b) => a[0] - b[0]))) }),
    );
  });

const isDependency = (source: string): boolean => /(^|[\\/])node_modules[\\/]/.test(source);

it('keeps every mapping into our own sources exactly and drops every one into node_modules', () => {
  fc.assert(
    fc.property(sourceMap, (map) => {
      const trimmed = ownSourceMap(map);
      const withoutTrailingEmptyLines = (lines: Resolved[][]) => lines.slice(0, lines.findLastIndex((line) => line.length > 0) + 1);
      const expected = resolved(map).map((line) => line.filter(([, source]) => !isDependency(source)));
      expect(withoutTrailingEmptyLines(resolved(trimmed))).toEqual(withoutTrailingEmptyLines(expected));
      expect(trimmed.sources.filter(isDependency)).toEqual([]);
      // Only what a kept mapping uses is listed.
      const used = new Set(expected.flat().map(([, source]) => source));
      expect(trimmed.sources.every((source) => used.has(source) || !isDependency(source))).toBe(true);
      expect(trimmed.names.length).toBeLessThanOrEqual(map.names.length);
    }),
    { numRuns: 300 },
  );
});

it("leaves Node's lookup finding our code where it did, and no source where it found a dependency", () => {
  /** Node's lookup in a map, as --enable-source-maps and functions/lib/source-mapped-stacks.ts use it. */
  const nodeLookup = (map: SourceMapV3) => {
    const parsed = new SourceMap(map as never);
    return (line: number, column: number) => {
      const { originalSource, originalLine, originalColumn, name } = parsed.findEntry(line, column) as { originalSource?: string; originalLine?: number; originalColumn?: number; name?: string };
      return originalSource === undefined ? undefined : { originalSource, originalLine, originalColumn, name };
    };
  };
  /** What a position stands for in the bundle: the last segment at or before it (Node's rule), when that maps into our code. */
  const ownCodeIn = (map: SourceMapV3) => {
    const segments = decode(map.mappings).flatMap((line, index) => line.map((segment) => ({ line: index, segment })));
    return (line: number, column: number) => {
      const before = segments.filter((s) => s.line < line || (s.line === line && s.segment[0] <= column)).at(-1)?.segment;
      if (before === undefined || before.length === 1 || isDependency(map.sources[before[1]]!)) return undefined;
      return { originalSource: map.sources[before[1]]!, originalLine: before[2], originalColumn: before[3], name: before.length === 5 ? map.names[before[4]] : undefined };
    };
  };
  fc.assert(
    fc.property(sourceMap, fc.array(fc.tuple(fc.nat(21), fc.nat(5100)), { maxLength: 30 }), (map, positions) => {
      const [trimmedAt, ownCodeAt] = [nodeLookup(ownSourceMap(map)), ownCodeIn(map)];
      // Every mapped position, and arbitrary ones between them.
      const segmentPositions = decode(map.mappings).flatMap((line, index) => line.map((segment): [number, number] => [index, segment[0]]));
      for (const [line, column] of [...segmentPositions, ...positions]) {
        expect([line, column, trimmedAt(line, column)]).toEqual([line, column, ownCodeAt(line, column)]);
      }
    }),
    { numRuns: 300 },
  );
});

it('keeps the sources content in step with the sources when a map carries it', () => {
  const map: SourceMapV3 = {
    version: 3,
    sources: ['node_modules/x/index.js', 'functions/a.ts', 'functions/b.ts'],
    sourcesContent: ['dependency', 'a', 'b'],
    names: [],
    mappings: encode([[[0, 0, 0, 0], [4, 2, 1, 0], [8, 1, 3, 2]]]),
  };
  const trimmed = ownSourceMap(map);
  expect(trimmed.sources).toEqual(['functions/a.ts', 'functions/b.ts']);
  expect(trimmed.sourcesContent).toEqual(['a', 'b']);
  expect(resolved(trimmed)).toEqual([[[4, 'functions/b.ts', 1, 0], [8, 'functions/a.ts', 3, 2]], []]);
});
