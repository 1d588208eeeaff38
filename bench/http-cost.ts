// npm run bench:http-cost — what a token check costs inside a busy server, against what the same
// code costs alone. One Fastify server (bench/lib/http-cost-server.ts) serves the same handler
// behind onRequest hooks (COST_ROUTES): none, a no-op, a busy loop, one SHA-256, a payload parse,
// both of those (the floor), the laissez JWT core (createVerifier), the laissez Fastify hook, and
// that hook with its cache. The busy loop is sized to cost what the laissez hook costs alone. Each
// hook is timed alone in a tight loop inside the server process; then autocannon drives each
// route in interleaved rounds and the server's CPU time per request is read over IPC. A hook's
// extra µs/req is its route's CPU per request less the unprotected route's, paired by round. The
// last lines set what bench:http's Fastify goal leaves for a check against the floor route, which
// does less than an HS256 check must (one SHA-256 and the payload parsed, in one hook).
// Prints only (a diagnostic of bench:http, whose figures it explains); nothing is written.
//
// Options: --rounds N (default 9), --duration S (seconds per slice, default 2), --connections N
// (default 32), --spin N (iterations of the busy loop; default: sized to the laissez hook),
// --quick (3 rounds of 1 s).
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchFlags, machineLine, machineMeta, round2, textTable } from './lib/common.ts';
import {
  COST_ROUTES,
  type CostConfig,
  type CostMessage,
  type CostRoute,
} from './lib/http-cost-types.ts';
import { benchmarkToken, FASTIFY_GOAL } from './lib/http-variants.ts';
import { load } from './lib/load.ts';
import { median } from './lib/measure.ts';
import { spawnScript } from './lib/spawn.ts';

const flags = benchFlags(['rounds', 'duration', 'connections', 'spin']);
const rounds = flags.int('rounds', undefined, flags.quick ? 3 : 9);
const duration = flags.number('duration', undefined, flags.quick ? 1 : 2);
const connections = flags.int('connections', undefined, 32);

// The token of bench:http.
const { config: tokenConfig, token } = benchmarkToken();
const authorization = `Bearer ${token}`;
const SERVER = fileURLToPath(new URL('./lib/http-cost-server.ts', import.meta.url));

function startServer(spin: number) {
  const config: CostConfig = { ...tokenConfig, spin };
  return spawnScript(SERVER, [], {
    name: 'the http-cost server',
    env: { BENCH_COST_CONFIG: JSON.stringify(config) },
  });
}

function ask<T extends CostMessage['type']>(child: ChildProcess, type: T) {
  return new Promise<Extract<CostMessage, { type: T }>>((resolve) => {
    const listen = (message: CostMessage) => {
      if (message.type !== type) return;
      child.off('message', listen);
      resolve(message as Extract<CostMessage, { type: T }>);
    };
    child.on('message', listen);
    child.send({ type, authorization });
  });
}

// Size the busy loop: cost it and the laissez hook alone, in a first server.
let spin = flags.raw('spin') === undefined ? 0 : flags.int('spin', undefined, 1);
if (spin === 0) {
  const probe = await startServer(1000);
  const { micros } = await ask(probe.child, 'loop');
  await probe.stop();
  spin = Math.max(1, Math.round((1000 * micros.laissez!) / micros.spin!));
}

const server = await startServer(spin);
const { child, url } = server;
const cpu = async () => {
  const { user, system } = await ask(child, 'cpu');
  return user + system;
};
async function slice(route: CostRoute, seconds: number) {
  const before = await cpu();
  const run = await load(
    { url: `${url}/${route}`, connections, duration: seconds, headers: { authorization } },
    route,
  );
  const used = (await cpu()) - before;
  return { us: used / run.requests, rps: run.rps };
}

try {
  process.stderr.write(`warming up; then ${rounds} rounds of ${duration} s per route\n`);
  for (const route of COST_ROUTES) await slice(route, 1);
  const samples = new Map(COST_ROUTES.map((r) => [r, [] as { us: number; rps: number }[]]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? COST_ROUTES : [...COST_ROUTES].reverse();
    for (const route of order) samples.get(route)!.push(await slice(route, duration));
    process.stderr.write(`round ${round + 1}/${rounds}\n`);
  }
  const { micros } = await ask(child, 'loop');
  const base = samples.get('unprotected')!;
  const extraOf = (route: CostRoute) =>
    median(samples.get(route)!.map((x, i) => x.us - base[i]!.us));
  const rows = COST_ROUTES.map((route) => {
    const s = samples.get(route)!;
    const alone = route === 'unprotected' ? 0 : micros[route]!;
    const extra = extraOf(route);
    return [
      route === 'spin' ? `spin (${spin} iterations)` : route,
      route === 'unprotected' ? '' : round2(alone).toFixed(2),
      round2(median(s.map((x) => x.us))).toFixed(1),
      route === 'unprotected' ? '' : round2(extra).toFixed(1),
      route === 'unprotected' ? '' : round2(extra / alone).toFixed(1),
      round2(median(s.map((x, i) => x.rps / base[i]!.rps))).toFixed(2),
    ];
  });
  // What the goal leaves for a check (ratio = unprotected ÷ protected CPU per request while the
  // server is the bottleneck), against less than any HS256 check does: one hash (an HMAC is two)
  // and the payload decoded and parsed, in one hook.
  const budget = median(base.map((x) => x.us)) * (1 / FASTIFY_GOAL - 1);
  const floor = extraOf('floor');
  const headers = [
    'hook',
    'alone µs',
    'server µs/req',
    'extra µs/req',
    'extra ÷ alone',
    'req/s ÷ unprotected',
  ];
  process.stdout.write(
    `\nHTTP check cost, ${machineLine(machineMeta())}\n${rounds} interleaved rounds of ${duration} s per route, ${connections} connections; medians; extra = paired by round against unprotected\n\n${textTable({ headers, rows, right: new Set([1, 2, 3, 4, 5]) })}\n\n` +
      `bench:http's Fastify goal, protected ÷ unprotected >= ${FASTIFY_GOAL}, leaves ${round2(budget).toFixed(1)} µs/req for a check here.\n` +
      `Less than an HS256 check does, one SHA-256 (an HMAC is two) and the payload parsed, costs ${round2(floor).toFixed(1)} µs/req here (the floor route): ` +
      `${floor > budget ? 'an uncached HS256 check on node:crypto and JSON.parse cannot meet the goal on this machine now' : 'within the goal'}.\n`,
  );
} finally {
  await server.stop();
}
