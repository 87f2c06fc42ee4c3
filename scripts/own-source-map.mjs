// Trims a bundle's source map to the project's own code.
//
// A stack trace in CloudWatch names functions/…/*.ts lines: the functions map their frames through
// the bundle's map when a stack is first written out (functions/lib/source-mapped-stacks.ts). Most
// of a map is mappings into node_modules (the SDK): about 0.9 MiB for the largest function, to read
// and parse for frames nobody debugs from a Lambda log. Each mapping into a dependency becomes an
// unmapped segment (its generated column alone), and a run of them one segment: a frame of our code
// keeps exactly its mapping, and a frame inside a dependency finds no source and keeps its place in
// index.js. (Dropping those mappings outright would not do: a lookup takes the nearest mapping
// before a position, so an SDK frame would be named as a line of whatever of our code the bundle
// has before it.)
import { decode, encode } from '@jridgewell/sourcemap-codec';

const isOwn = (source) => !/(^|[\\/])node_modules[\\/]/.test(source);

/** The map (source map v3, parsed) with only the segments that point into the project's own sources mapped. */
export function ownSourceMap(map) {
  const kept = map.sources.flatMap((source, index) => (isOwn(source) ? [index] : []));
  const sourceIndex = new Map(kept.map((original, index) => [original, index]));
  const names = [];
  const nameIndex = new Map();
  const lines = decode(map.mappings).map((line) => {
    const segments = [];
    for (const segment of line) {
      if (segment.length === 1 || !sourceIndex.has(segment[1])) {
        // Unmapped from here on; one such segment says so for the whole run.
        if (segments.length === 0 || segments.at(-1).length > 1) segments.push([segment[0]]);
        continue;
      }
      const trimmed = [segment[0], sourceIndex.get(segment[1]), segment[2], segment[3]];
      if (segment.length === 5) {
        if (!nameIndex.has(segment[4])) {
          nameIndex.set(segment[4], names.length);
          names.push(map.names[segment[4]]);
        }
        trimmed.push(nameIndex.get(segment[4]));
      }
      segments.push(trimmed);
    }
    return segments;
  });
  const sources = kept.map((index) => map.sources[index]);
  // build.mjs leaves sourcesContent out; were it there, it would follow sources.
  const sourcesContent = map.sourcesContent && kept.map((index) => map.sourcesContent[index]);
  // Node's parser reads the last segment of the mappings as if it had every field, taking the
  // missing ones from the segment before it (an unmapped column would map, a nameless mapping take
  // a name); ending the mappings with an empty line keeps it as written.
  const mappings = encode(lines) + (lines.at(-1)?.length ? ';' : '');
  return { ...map, sources, names, mappings, ...(sourcesContent && { sourcesContent }) };
}
