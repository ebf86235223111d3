// Benchmark harness for DBOS Transact (TypeScript SDK, used from plain ESM JavaScript).
//
//   node bench.mjs --case sequential|fanout|latency|throughput|all
//
// Prints exactly one JSON line per case on stdout. Everything else (DBOS logging,
// diagnostics) goes to stderr.
//
// Environment:
//   DBOS_BENCH_DB_URL  system database URL (default postgres://postgres@127.0.0.1:5432/dbos_bench)
//                      The database named there is DROPPED and re-created at the start of every case.

import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { DBOS } from '@dbos-inc/dbos-sdk';

// DBOS's console logger writes info/debug through console.log/console.debug (stdout).
// Keep stdout for the result lines only: route console output to stderr.
const toStderr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;

const CASES = ['sequential', 'fanout', 'latency', 'throughput'];
const DB_URL = process.env.DBOS_BENCH_DB_URL ?? 'postgres://postgres@127.0.0.1:5432/dbos_bench';

// ---------------------------------------------------------------- parameters
const SEQ_STEPS = 1000;
const FANOUT_STEPS = 1000;
const LATENCY_ITERS = 300;
const TP_WORKFLOWS = 2000;
const TP_STEPS_PER_WF = 3;

// Warm-up sizes (run once, not measured, after launch on the fresh database): the same as Stent's bench
// (bench/cases), so both are measured warm.
const WARM = { sequential: 2000, fanout: 1000, latency: 2000, throughput: 2000 };

// ---------------------------------------------------------------- workflows & steps
// Registered at module load, i.e. before DBOS.launch(), as DBOS requires.

const inc = DBOS.registerStep(async (v) => v + 1, { name: 'inc' });
const value = DBOS.registerStep(async (v) => v, { name: 'value' });

// sequential: n steps one after another, each returns input + 1.
const sequentialWf = DBOS.registerWorkflow(
  async (n) => {
    let x = 0;
    for (let i = 0; i < n; i++) x = await inc(x);
    return x;
  },
  { name: 'sequentialWf' },
);

// fanout: n steps started in a fixed (deterministic) order, then awaited together.
const fanoutWf = DBOS.registerWorkflow(
  async (n) => {
    const promises = [];
    for (let i = 0; i < n; i++) promises.push(value(i));
    const results = await Promise.all(promises);
    return results.length;
  },
  { name: 'fanoutWf' },
);

// latency: 1 step.
const oneStepWf = DBOS.registerWorkflow(async (x) => await inc(x), { name: 'oneStepWf' });

// throughput: 3 sequential steps.
const threeStepWf = DBOS.registerWorkflow(
  async (x) => {
    let v = await inc(x);
    v = await inc(v);
    v = await inc(v);
    return v;
  },
  { name: 'threeStepWf' },
);

// ---------------------------------------------------------------- helpers

function check(cond, msg) {
  if (!cond) throw new Error(`result check failed: ${msg}`);
}

async function freshDatabase() {
  const target = new URL(DB_URL);
  const dbName = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(dbName)) throw new Error(`refusing odd database name ${dbName}`);
  const admin = new URL(DB_URL);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${dbName}"`);
  } finally {
    await client.end();
  }
}

async function launch() {
  DBOS.setConfig({
    name: 'dbos-bench',
    systemDatabaseUrl: DB_URL,
    applicationVersion: 'bench-1',
    logLevel: 'error',
  });
  await DBOS.launch();
}

const r3 = (x) => Math.round(x * 1000) / 1000;

function result(name, steps, seconds, extra = {}) {
  return {
    case: name,
    system: 'dbos',
    steps,
    seconds: r3(seconds),
    ms_per_step: r3((seconds * 1000) / steps),
    steps_per_s: Math.round(steps / seconds),
    ...extra,
  };
}

// nearest-rank percentile on an ascending-sorted array
function percentile(sorted, p) {
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

// ---------------------------------------------------------------- cases

async function runSequential(n) {
  const t0 = performance.now();
  const h = await DBOS.startWorkflow(sequentialWf)(n);
  const out = await h.getResult();
  const secs = (performance.now() - t0) / 1000;
  check(out === n, `sequential returned ${out}, expected ${n}`);
  return secs;
}

async function runFanout(n) {
  const t0 = performance.now();
  const h = await DBOS.startWorkflow(fanoutWf)(n);
  const out = await h.getResult();
  const secs = (performance.now() - t0) / 1000;
  check(out === n, `fanout returned ${out}, expected ${n}`);
  return secs;
}

async function runLatency(iters) {
  const samples = [];
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    const s = performance.now();
    const h = await DBOS.startWorkflow(oneStepWf)(i);
    const out = await h.getResult();
    samples.push(performance.now() - s);
    check(out === i + 1, `latency workflow returned ${out}, expected ${i + 1}`);
  }
  const secs = (performance.now() - t0) / 1000;
  return { secs, samples };
}

async function runThroughput(nwf) {
  const t0 = performance.now();
  const handles = [];
  for (let i = 0; i < nwf; i++) handles.push(await DBOS.startWorkflow(threeStepWf)(i));
  const outs = await Promise.all(handles.map((h) => h.getResult()));
  const secs = (performance.now() - t0) / 1000;
  outs.forEach((o, i) => check(o === i + 3, `throughput wf ${i} returned ${o}`));
  return secs;
}

async function runCase(name) {
  switch (name) {
    case 'sequential': {
      await runSequential(WARM.sequential);
      const secs = await runSequential(SEQ_STEPS);
      return result(name, SEQ_STEPS, secs);
    }
    case 'fanout': {
      await runFanout(WARM.fanout);
      const secs = await runFanout(FANOUT_STEPS);
      return result(name, FANOUT_STEPS, secs, {
        how: 'Promise.all over 1000 registered-step calls started in fixed order inside one workflow (concurrent steps are allowed by DBOS if started deterministically); no queue, no child workflows',
      });
    }
    case 'latency': {
      await runLatency(WARM.latency);
      const { secs, samples } = await runLatency(LATENCY_ITERS);
      const sorted = [...samples].sort((a, b) => a - b);
      return result(name, LATENCY_ITERS, secs, {
        workflows: LATENCY_ITERS,
        p50_ms: r3(percentile(sorted, 50)),
        p99_ms: r3(percentile(sorted, 99)),
      });
    }
    case 'throughput': {
      await runThroughput(WARM.throughput);
      const secs = await runThroughput(TP_WORKFLOWS);
      return result(name, TP_WORKFLOWS * TP_STEPS_PER_WF, secs, {
        workflows: TP_WORKFLOWS,
        how: 'DBOS.startWorkflow awaited 2000 times in a loop (no queue), then Promise.all over handle.getResult()',
      });
    }
    default:
      throw new Error(`unknown case ${name}`);
  }
}

// ---------------------------------------------------------------- main

function parseCase(argv) {
  const i = argv.indexOf('--case');
  const v = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--case='))?.slice(7);
  if (!v || !(v === 'all' || CASES.includes(v))) {
    process.stderr.write(`usage: node bench.mjs --case ${[...CASES, 'all'].join('|')}\n`);
    process.exit(2);
  }
  return v;
}

async function main() {
  const which = parseCase(process.argv.slice(2));

  if (which === 'all') {
    // Each case in its own process, so each gets a fresh DBOS runtime and a fresh database.
    const self = fileURLToPath(import.meta.url);
    let failed = 0;
    for (const c of CASES) {
      const r = spawnSync(process.execPath, [self, '--case', c], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) {
        failed++;
        process.stderr.write(`case ${c} failed (exit ${r.status ?? r.signal})\n`);
      }
    }
    process.exit(failed ? 1 : 0);
  }

  await freshDatabase();
  await launch();
  let line;
  try {
    line = JSON.stringify(await runCase(which));
  } finally {
    await DBOS.shutdown();
  }
  process.stdout.write(line + '\n', () => process.exit(0));
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e?.stack ?? e}\n`);
  process.exit(1);
});
