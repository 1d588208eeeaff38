#!/usr/bin/env node
// The `laissez` command and `npm start`. Plain JavaScript that any Node can parse, so that an old
// Node says what it needs instead of failing on TypeScript or a missing built-in. The command
// itself is bin/laissez.ts: run from the sources in a checkout, from dist/ once installed (Node
// does not strip types under node_modules).

const NEEDED = 24;
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= NEEDED)) {
  process.stderr.write(
    `laissez needs Node.js ${NEEDED} or newer; this is ${process.versions.node}.\n` +
      `Install it from https://nodejs.org (or with a version manager: nvm install ${NEEDED}, fnm use ${NEEDED}), then run the command again.\n`,
  );
  process.exit(1);
}

const installed = import.meta.url.includes('/node_modules/');
if (!installed) {
  // In the repository (`npm start`, `npx laissez` there), every laissez package runs from its
  // TypeScript sources: their package.json "exports" name them under the "laissez-source"
  // condition, which this adds to every import (as `node --conditions=laissez-source` would).
  const { registerHooks } = await import('node:module');
  registerHooks({
    resolve(specifier, context, next) {
      const conditions = context.conditions ?? [];
      return conditions.includes('laissez-source')
        ? next(specifier, context)
        : next(specifier, { ...context, conditions: [...conditions, 'laissez-source'] });
    },
  });
}
await import(installed ? '../dist/bin/laissez.js' : './laissez.ts');
