/**
 * Stack traces of a bundled function name our TypeScript lines, from the bundle's source map, read
 * only when a stack is first written out.
 *
 * Node's `--enable-source-maps` does the same, but reads the map and loads its source-map code while
 * the bundle loads: about 10 ms of every cold start (`make measure`), for frames read only when
 * something failed. Here `Error.prepareStackTrace` maps the frames of the bundle itself with Node's
 * own `SourceMap` (node:module) and reads the map (scripts/own-source-map.mjs: our sources only) the
 * first time a stack is formatted. A frame inside a dependency keeps its place in index.js.
 * Outside a bundle (tests, tsx) there is no map beside the module, and nothing is installed; with
 * `--enable-source-maps` on, Node's own mapping stays.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

/** Where a bundle position came from, as `functions/…/file.ts:line:column`, or undefined when not from our code. */
export type PositionLookup = (line: number, column: number) => string | undefined;

/** A lookup in a parsed source map: its sources are relative to the bundle (`../../../functions/…`), named from the repository root. */
export function lookupIn(map: SourceMap): PositionLookup {
  return (line, column) => {
    const entry = map.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return undefined;
    return `${entry.originalSource.replace(/^(\.\.\/)+/, '')}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  };
}

function isNodeError(error: unknown): boolean {
  for (let proto = Object.getPrototypeOf(error) as object | null; proto !== null && proto !== Error.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    if (Object.getOwnPropertySymbols(proto).some((symbol) => symbol.description === 'kIsNodeError')) return true;
  }
  return false;
}

/** The stack as Node writes it, each frame of `bundle` replaced by the source position it maps to. */
export function formatStack(error: unknown, sites: NodeJS.CallSite[], bundle: string, lookup: PositionLookup): string {
  let header: string;
  try {
    header = Error.prototype.toString.call(error);
    // Node writes the code of its own JavaScript errors into the header (`TypeError
    // [ERR_INVALID_ARG_TYPE]: …`), which it marks with a symbol on their prototype.
    const { name, code } = error as { name?: unknown; code?: unknown };
    if (typeof code === 'string' && typeof name === 'string' && header.startsWith(name) && isNodeError(error)) {
      header = `${name} [${code}]${header.slice(name.length)}`;
    }
  } catch {
    header = '<error>';
  }
  const frames = sites.map((site) => {
    const text = String(site);
    const file = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (file !== bundle || line === null || column === null) return text;
    const source = lookup(line, column);
    return source === undefined ? text : text.replace(`${file}:${line}:${column}`, source);
  });
  return [header, ...frames.map((frame) => `    at ${frame}`)].join('\n');
}

/**
 * Maps the stacks of the bundle this module is part of, unless it is not in a bundle (no map beside
 * it) or Node already maps them. Returns whether it did.
 */
export function installSourceMappedStacks(bundle: string = __filename): boolean {
  const mapFile = `${bundle}.map`;
  if (process.sourceMapsEnabled || !existsSync(mapFile)) return false;
  let lookup: PositionLookup | undefined;
  Error.prepareStackTrace = (error, sites) => {
    try {
      lookup ??= lookupIn(new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))));
    } catch {
      // An unreadable map leaves the frames as they are.
      lookup = () => undefined;
    }
    return formatStack(error, sites, bundle, lookup);
  };
  return true;
}
