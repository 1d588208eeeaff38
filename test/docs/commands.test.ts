// Every command block of the README and the docs runs as pasted. Each Markdown file is one
// reader at one terminal: its ```sh blocks run in order in one bash, so a variable set in one
// block is there in the next, in a fresh directory that looks like a checkout of laissez (its
// files linked in, its own ./data). `laissez` is on PATH, as after `npm install -g laissez`.
//
// A block fails the test when a command in it fails, and curl fails on an HTTP error (the seed
// flow answering 400 as pasted was the bug this test was written for). An HTML comment on the
// line before a block says what else a reader would know (it is invisible on a rendered page):
//   <!-- doc-test: background -->       a server that runs until stopped: started in the
//                                         background, the next block runs once it says
//                                         "listening on"; stopped at the end of the file
//   <!-- doc-test: exit N -->           the block ends with exit status N (a refused token)
//   <!-- doc-test: http-errors -->      the block shows error answers on purpose
//   <!-- doc-test: skip REASON -->      not run, for the reason given (a benchmark that
//                                         loads both cores for minutes, the test suite itself)
//   <!-- doc-test: run COMMAND -->      a step a reader does by hand between two blocks, such
//                                         as waiting for a key to start signing; `run COMMAND &`
//                                         starts a server the reader runs in another terminal

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../../packages/server/test/helpers/processes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every Markdown file a newcomer reads for commands. */
const FILES = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  'examples/notes-api/README.md',
  'bench/README.md',
];

/** What a checkout holds that the commands use; linked into each run's directory. */
const CHECKOUT = ['package.json', 'packages', 'examples', 'tsconfig.json'];

interface Step {
  readonly line: number;
  readonly code: string;
  readonly kind: 'block' | 'background' | 'run';
  readonly exit: number;
  readonly httpErrors: boolean;
  readonly skip: string | undefined;
  /** A transcript (```console): commands after "$ ", their output between them. */
  readonly console: boolean;
}

const DIRECTIVE = /^<!-- doc-test: (background|http-errors|exit (\d+)|skip (.+?)|run (.+?)) -->$/;
const FENCE = /^```(sh|bash|console)\s*$/;

/** The command blocks of a Markdown file and the directives before them. */
function parseSteps(markdown: string): Step[] {
  const lines = markdown.split('\n');
  const steps: Step[] = [];
  let pending: { background?: boolean; exit?: number; httpErrors?: boolean; skip?: string } = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const directive = DIRECTIVE.exec(line.trim());
    if (directive) {
      const [, what, exit, skip, run] = directive;
      if (run !== undefined) {
        // "run COMMAND &": a server the reader started in another terminal.
        const background = run.endsWith(' &');
        steps.push({
          line: i + 1,
          code: background ? run.slice(0, -2) : run,
          kind: background ? 'background' : 'run',
          exit: 0,
          httpErrors: false,
          skip: undefined,
          console: false,
        });
      } else if (what === 'background') pending.background = true;
      else if (what === 'http-errors') pending.httpErrors = true;
      else if (exit !== undefined) pending.exit = Number(exit);
      else if (skip !== undefined) pending.skip = skip;
      continue;
    }
    const fence = FENCE.exec(line);
    if (!fence) {
      if (line.trim() !== '') pending = {};
      continue;
    }
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    // A console transcript: the commands are the lines after "$ ", the rest is their output.
    const code =
      fence[1] === 'console'
        ? body
            .filter((l) => l.startsWith('$ '))
            .map((l) => l.slice(2))
            .join('\n')
        : body.join('\n');
    steps.push({
      line: start,
      code,
      kind: pending.background ? 'background' : 'block',
      exit: pending.exit ?? 0,
      httpErrors: pending.httpErrors ?? false,
      skip: pending.skip,
      console: fence[1] === 'console',
    });
    pending = {};
  }
  return steps;
}

const q = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** One bash script for a file's steps: markers on stdout say which step ran and how it ended. */
function script(steps: readonly Step[], dir: string): string {
  const out = [
    'set -o pipefail',
    'BG=""',
    // Stop the servers started in the background (each in its own process group).
    "trap 'for p in $BG; do kill -TERM -- -$p 2>/dev/null; done; wait 2>/dev/null' EXIT",
    'curl() { command curl --fail-with-body "$@"; }',
  ];
  steps.forEach((step, n) => {
    if (step.skip !== undefined) return;
    const file = join(dir, `.step-${n}.sh`);
    out.push(`printf '\\n@@STEP ${n}\\n'`);
    if (step.kind === 'background') {
      const log = join(dir, `.step-${n}.log`);
      out.push(
        `setsid bash -c ${q(`source ${q(file)}`)} > ${q(log)} 2>&1 & BG="$BG $!"`,
        `for i in $(seq 1 300); do grep -q 'listening on' ${q(log)} && break; sleep 0.1; done`,
        `grep -q 'listening on' ${q(log)} || { cat ${q(log)}; printf '\\n@@FAILED ${n} not listening\\n'; exit 1; }`,
        `cat ${q(log)}`,
      );
    } else {
      if (step.httpErrors) out.push('unset -f curl');
      // Every command of a block must succeed, but for a block that ends in a refusal on purpose
      // (exit N: then only its status is checked). A console transcript shows refused tokens
      // (exit 1) on purpose, never a usage error (2) or a command that could not run (126+).
      if (step.console) {
        out.push(
          `trap 'rc=$?; if [ $rc = 2 ] || [ $rc -ge 126 ]; then printf "\\n@@FAILED ${n} exit %s\\n" $rc; exit 1; fi' ERR`,
          `source ${q(file)}; rc=0`,
          'trap - ERR',
        );
      } else if (step.exit === 0) {
        out.push('set -e', `source ${q(file)}; rc=$?`, 'set +e');
      } else {
        out.push(`source ${q(file)}; rc=$?`);
      }
      out.push(
        'curl() { command curl --fail-with-body "$@"; }',
        `[ "$rc" = ${step.exit} ] || { printf '\\n@@FAILED ${n} exit %s\\n' "$rc"; exit 1; }`,
      );
    }
  });
  out.push("printf '\\n@@ALLDONE\\n'");
  return out.join('\n');
}

/** SIGTERM to every process whose working directory is `dir` or below (Linux: /proc). */
function stopProcessesIn(dir: string): void {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) process.kill(Number(pid), 'SIGTERM');
    } catch {}
  }
}

async function runFile(file: string, steps: readonly Step[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'laissez-doc-'));
  try {
    for (const entry of CHECKOUT) {
      if (existsSync(join(root, entry))) await symlink(join(root, entry), join(dir, entry));
    }
    // node_modules as after `npm install laissez`: the packages linked in, and node_modules/.bin
    // with `laissez`, so that `npx laissez` runs it and never installs anything.
    const modules = join(dir, 'node_modules');
    const bin = join(modules, '.bin');
    await mkdir(bin, { recursive: true });
    for (const entry of readdirSync(join(root, 'node_modules'))) {
      if (entry !== '.bin') await symlink(join(root, 'node_modules', entry), join(modules, entry));
    }
    for (const entry of readdirSync(join(root, 'node_modules/.bin'))) {
      // `laissez` and `npx` are written below: never through a link to the checkout's own files.
      if (entry === 'laissez' || entry === 'npx') continue;
      await symlink(join(root, 'node_modules/.bin', entry), join(bin, entry));
    }
    await writeFile(
      join(bin, 'laissez'),
      `#!/bin/sh\nexec ${q(process.execPath)} ${q(join(root, 'packages/server/bin/laissez.mjs'))} "$@"\n`,
    );
    await chmod(join(bin, 'laissez'), 0o755);
    // `npx laissez` finds node_modules/.bin/laissez in a project that installed laissez; here it
    // runs the launcher above directly, so that npx never looks anything up.
    const npx =
      (process.env['PATH'] ?? '')
        .split(':')
        .map((d) => join(d, 'npx'))
        .find((f) => existsSync(f)) ?? 'npx';
    await writeFile(
      join(bin, 'npx'),
      `#!/bin/sh\nif [ "$1" = laissez ]; then shift; exec ${q(join(bin, 'laissez'))} "$@"; fi\nexec ${q(npx)} "$@"\n`,
    );
    await chmod(join(bin, 'npx'), 0o755);
    await Promise.all(
      steps.map((step, n) => writeFile(join(dir, `.step-${n}.sh`), `${step.code}\n`)),
    );
    const env = cleanEnv({
      PATH: [bin, dirname(process.execPath), process.env['PATH'] ?? ''].join(':'),
    });
    const child = spawn('bash', ['--noprofile', '--norc', '-c', script(steps, dir)], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    const ended = Promise.all([once(child.stdout, 'end'), once(child.stderr, 'end')]);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    // What the shell wrote before it exited (a server it left holds the pipes open: not for long).
    await Promise.race([ended, sleep(2000)]);
    // Servers started in the background (npm start runs its script in a process group of its
    // own, so the shell's kill does not reach it) are stopped by where they run.
    stopProcessesIn(dir);
    if (code === 0 && output.includes('@@ALLDONE')) return;
    const parts = output.split(/\n@@STEP (\d+)\n/);
    const last = Number(parts.at(-2) ?? 0);
    const step = steps[last]!;
    assert.fail(
      `${file}:${step.line}: the block does not run as pasted (exit ${code}).\n--- block ---\n${step.code}\n--- output ---\n${(parts.at(-1) ?? output).slice(-4000)}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('every command block of the README and the docs runs as pasted', {
  timeout: 300_000,
}, () => {
  for (const file of FILES) {
    const steps = parseSteps(readFileSync(join(root, file), 'utf8'));
    if (steps.length === 0) continue;
    test(file, async () => {
      for (const step of steps) {
        if (step.skip !== undefined) {
          assert.ok(step.skip.length >= 10, `${file}:${step.line}: a skip says why`);
        }
      }
      if (steps.every((s) => s.skip !== undefined)) return;
      await runFile(file, steps);
    });
  }
});
