#!/usr/bin/env node
// The `laissez` command, started by bin/laissez.mjs once it has checked the Node version.
// Everything lives in src/cli; this file only starts it.

import { enableCompileCache } from 'node:module';

// Cache the compiled (and type-stripped) modules on disk: a run then starts in a fraction of the
// time. Node stores it under the OS temp directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
enableCompileCache?.();

// `laissez … | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// Loaded after the cache is on, so that they are served from it.
const { processIo } = await import('../src/cli/io.ts');
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), processIo());
