/**
 * Prints the figures the README quotes: each function's bundle size, its cold module-load time
 * (median of several fresh node processes), how many state transitions the success path of the
 * state machine costs, and the worst-case state size and history of a 200-cluster run, computed by
 * running the real definition with the real handlers against the model fleet. A measurement, not a
 * test: nothing here passes or fails on a number (the I5 tests hold the limits).
 * Usage: npx tsx scripts/measure.ts [--runs N]
 */
import '../test/support/setup';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { parse } from 'yaml';
import { CFN_TAGS } from '../local/cfn-yaml';
import { HISTORY_LIMIT_EVENTS, STATE_LIMIT_BYTES } from '../test/support/invariants';
import { ModelWorld, STACKS, WAVES } from '../test/support/model-world';
import { largestHistory, largestState } from '../test/support/scale';

const ROOT = path.join(__dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 11;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** NODE_OPTIONS as the functions get it on Lambda (serverless.yml), if any: --enable-source-maps, for one, would read the map at every cold start. */
function lambdaNodeOptions(): string {
  const provider = (parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent', customTags: CFN_TAGS }) as { provider: { environment: Record<string, string> } }).provider;
  return provider.environment.NODE_OPTIONS ?? '';
}

/**
 * Each bundle's module-load time in fresh node processes, `runs` each, taken in turns (bundle 1,
 * 2, …, 1, 2, …) so that a busy moment of a shared machine falls on all of them alike: the median
 * and the fastest, in ms.
 */
function coldLoads(bundles: string[], nodeOptions: string): { median: number; fastest: number }[] {
  const samples = bundles.map((): number[] => []);
  const env = { ...process.env, AWS_REGION: 'us-east-1', NODE_OPTIONS: nodeOptions };
  for (let i = 0; i < runs; i += 1) {
    bundles.forEach((bundle, index) => {
      const out = spawnSync(process.execPath, ['-e', `const t=process.hrtime.bigint();require(${JSON.stringify(bundle)});console.log(Number(process.hrtime.bigint()-t)/1e6)`], { encoding: 'utf8', env });
      if (out.status !== 0) throw new Error(`loading ${bundle} failed: ${out.stderr}`);
      samples[index]!.push(Number(out.stdout.trim()));
    });
  }
  return samples.map((values) => ({ median: median(values), fastest: Math.min(...values) }));
}

/** Runs the real definition once in a fresh model world and returns its event counts. */
async function successfulRun(input: Record<string, unknown>) {
  const world = new ModelWorld();
  try {
    const run = await world.run(input, `measure-${Date.now()}`);
    if (run.status !== 'SUCCEEDED') throw new Error(`the success path did not succeed: ${JSON.stringify(run.error)}`);
    return { run, message: world.aws.published[0]?.message ?? '' };
  } finally {
    world.restore();
  }
}

async function main() {
  const build = await import('./build.mjs');
  const names = await build.bundleFunctions();
  const nodeOptions = lambdaNodeOptions();
  console.log(`Functions (esbuild, minified, node24, AWS SDK bundled; module load in fresh node ${process.version} processes with the functions' NODE_OPTIONS (${nodeOptions || 'none'}), ${runs} each, in turns)`);
  console.log('function               bundle KiB  zipped KiB  map KiB  load ms (median)  load ms (fastest)');
  const bundles = names.map((name) => path.join(ROOT, '.build', 'functions', name, 'index.js'));
  const loads = coldLoads(bundles, nodeOptions);
  names.forEach((name, index) => {
    const bundle = bundles[index]!;
    const size = statSync(bundle).size / 1024;
    const map = statSync(`${bundle}.map`).size / 1024;
    const zipped = deflateRawSync(readFileSync(bundle), { level: 9 }).length / 1024;
    const { median: load, fastest } = loads[index]!;
    console.log(`${name.padEnd(22)} ${size.toFixed(0).padStart(10)}  ${zipped.toFixed(0).padStart(10)}  ${map.toFixed(0).padStart(7)}  ${load.toFixed(0).padStart(16)}  ${fastest.toFixed(0).padStart(17)}`);
  });

  const { run } = await successfulRun({ trigger: 'weekly' });
  const { run: oneWave } = await successfulRun({ trigger: 'manual', clusters: [STACKS[0]!] });
  const clusters = STACKS.length;
  const perCluster = (run.entered.length - run.path.length) / clusters;
  const perWave = (run.path.length - oneWave.path.length) / (WAVES.length - 1);
  console.log('');
  console.log(`State machine, success path (${WAVES.length} waves, ${clusters} clusters, no retries needed):`);
  console.log(`  state transitions: ${run.entered.length + run.retries} (${run.path.length} top-level, ${run.entered.length - run.path.length} in the per-cluster child executions)`);
  console.log(`  each extra cluster adds ${perCluster}, each extra wave ${perWave}; every poll that has to wait (stack still updating, registration pending) adds 1 retry`);

  console.log('');
  console.log('Worst case, 200 clusters in 4 waves of 50 (every cluster of a wave failing with 4 KiB CloudFormation reasons, every rollback failing,');
  console.log('every poll of a cluster at its Retry maximum; run with the real definition and handlers against the model fleet):');
  const state = await largestState();
  const history = await largestHistory();
  const events = Math.max(state.history.parent, history.history.parent, history.history.largestChild);
  console.log(`worst-case state size, 200 clusters: ${(state.maxStateBytes / 1024).toFixed(0)} KiB (limit ${STATE_LIMIT_BYTES / 1024})`);
  console.log(`worst-case history, 200 clusters: ${events} events (limit ${HISTORY_LIMIT_EVENTS})`);
  console.log(`  largest state: ${state.maxStateAt}; run history ${state.history.parent} events; largest cluster child execution ${history.history.largestChild} events (${history.retries} retries)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
