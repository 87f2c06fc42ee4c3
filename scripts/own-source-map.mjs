// Trims a bundle's source map to the project's own code.
//
// The functions run with NODE_OPTIONS=--enable-source-maps, so that a stack trace in CloudWatch
// names functions/…/*.ts lines; Node then reads and parses the whole map at every cold start.
// Most of a map is mappings into node_modules (the SDK): about 0.9 MiB for the largest function,
// some 15–20 ms of its load time, for frames nobody debugs from a Lambda log. Keeping only the
// segments whose source is ours keeps every frame of our code exactly as it was; frames inside a
// dependency show their position in index.js instead.
import { decode, encode } from '@jridgewell/sourcemap-codec';

const isOwn = (source) => !/(^|[\\/])node_modules[\\/]/.test(source);

/** The map (source map v3, parsed) with only the segments that point into the project's own sources. */
export function ownSourceMap(map) {
  const kept = map.sources.flatMap((source, index) => (isOwn(source) ? [index] : []));
  const sourceIndex = new Map(kept.map((original, index) => [original, index]));
  const names = [];
  const nameIndex = new Map();
  const lines = decode(map.mappings).map((line) =>
    line
      .filter((segment) => segment.length > 1 && sourceIndex.has(segment[1]))
      .map((segment) => {
        const trimmed = [segment[0], sourceIndex.get(segment[1]), segment[2], segment[3]];
        if (segment.length === 5) {
          if (!nameIndex.has(segment[4])) {
            nameIndex.set(segment[4], names.length);
            names.push(map.names[segment[4]]);
          }
          trimmed.push(nameIndex.get(segment[4]));
        }
        return trimmed;
      }),
  );
  const sources = kept.map((index) => map.sources[index]);
  // build.mjs leaves sourcesContent out; were it there, it would follow sources.
  const sourcesContent = map.sourcesContent && kept.map((index) => map.sourcesContent[index]);
  return { ...map, sources, names, mappings: encode(lines), ...(sourcesContent && { sourcesContent }) };
}
