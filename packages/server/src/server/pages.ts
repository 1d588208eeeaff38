// The pages of the auth server: `/` (the log-in demo), `/debugger` (the JWT debugger), and their
// assets under `/assets/`, all read once at start and kept in memory. This is server code (Fastify,
// node:fs); the pages themselves live in src/web, which holds browser code only.
//
// Browsers cannot run TypeScript, so the browser modules (src/web, @laissez/client, and the
// browser-safe part of @laissez/jwt, `@laissez/jwt/facts`) are served as JavaScript made by the
// project itself, without a bundler:
// - running from the TypeScript sources (`npm start`, the tests: the packages resolve to their
//   src/ under the "laissez-source" condition): each module is stripped of its types with
//   node:module's `stripTypeScriptTypes` in 'strip' mode, which erases the annotations in place
//   (same lines and columns, so the browser's devtools point at the right source lines), and its
//   relative `.ts` imports are pointed at `.js`; the project is erasable-syntax-only, so nothing
//   needs transforming;
// - running from the build (installed packages): the JavaScript that tsc emitted into each
//   package's dist/, with its imports already rewritten.
// In both, an import of a laissez package (`from '@laissez/client'`) is pointed at the module
// served for it, by a relative URL. Each package's modules are found where Node resolves the
// package, so the URL layout (/assets/client/, /assets/jwt/, /assets/web/) is the same either way.
// HTML, CSS and the icon are static files in src/web (published with the package).
//
// Every page gets a strict Content-Security-Policy: scripts and styles from this origin only, no
// inline script, no HTML sinks (Trusted Types), no form submission, no framing; `/` may call this
// origin (the auth API), `/debugger` may connect nowhere at all.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface WebPagesOptions {
  /** The server delivers tokens in cookies (`--cookies on`): the demo resumes sessions. */
  cookies?: boolean;
  /** The server offers sign-in links (`--sign-in-links`): `/sign-in` exists and `/` offers them. */
  signInLinks?: boolean;
  /** The server verifies addresses (`--verify-email`): `/` shows the banner while unverified. */
  verifyEmail?: boolean;
}

/**
 * The modules the pages load, as URL paths under /assets/ without an extension: `client/` is
 * @laissez/client, `jwt/` the browser-safe part of @laissez/jwt (`@laissez/jwt/facts`), `web/`
 * this package's own src/web.
 */
export const BROWSER_MODULES = [
  'client/challenge',
  'client/device',
  'client/dpop',
  'client/errors',
  'client/events',
  'client/factors',
  'client/http',
  'client/index',
  'client/options',
  'client/requests',
  'client/session',
  'client/shared/htu',
  'client/shared/options',
  'client/tabs',
  'client/tokens',
  'client/webauthn',
  // The debugger takes its algorithm facts, canonical base64url rule and private JWK members from
  // the library itself (modules with no node: import; test/layers.test.ts).
  'jwt/facts',
  'jwt/lib/algorithms',
  'jwt/lib/base64url',
  'jwt/lib/errors',
  'jwt/lib/jwk-members',
  'web/account',
  'web/app',
  'web/debugger',
  'web/demo',
  'web/dom',
  'web/inspect/algorithms',
  'web/inspect/base64url',
  'web/inspect/decode',
  'web/inspect/der',
  'web/inspect/jwk',
  'web/inspect/keys',
  'web/inspect/refusal',
  'web/inspect/times',
  'web/inspect/verify',
  'web/log-in',
  'web/mail-links',
  'web/passkeys',
  'web/second-factors',
  'web/sessions',
  'web/token-view',
] as const;

const STATIC_FILES: Record<string, string> = {
  'web/style.css': 'text/css; charset=utf-8',
  'web/icon.svg': 'image/svg+xml',
};

const CSP_BASE = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
];

/**
 * The demo page's: it talks to this server, and shows the TOTP enrolment's QR code, which the
 * server answers as an SVG data URL (an image: SVG in <img> runs no script and loads nothing).
 */
const APP_CSP = [...CSP_BASE, "img-src 'self' data:", "connect-src 'self'"].join('; ');

/** The Content-Security-Policy of each page. */
export const PAGE_CSP = {
  '/': APP_CSP,
  '/reset-password': APP_CSP,
  '/sign-in': APP_CSP,
  '/debugger': [...CSP_BASE, "img-src 'self'", "connect-src 'none'"].join('; '),
} as const;

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const fromSource = import.meta.url.endsWith('.ts');
/** src/ of this package: the TypeScript sources, the HTML and CSS. */
const sourceDir = new URL(fromSource ? '../' : '../../../src/', import.meta.url);

/**
 * Where each URL prefix's modules are, and whether they are TypeScript: this package's own (its
 * src/, or dist/src/ when built), and the two packages it serves to browsers, found as Node
 * resolves them (their src/ in the repository, their dist/ once installed).
 */
function moduleRoots(): Record<string, { dir: URL; ts: boolean }> {
  const own = { dir: new URL('../web/', import.meta.url), ts: fromSource };
  const packageRoot = (specifier: string) => {
    const entry = import.meta.resolve(specifier);
    return { dir: new URL('./', entry), ts: entry.endsWith('.ts') };
  };
  return {
    'web/': own,
    'client/': packageRoot('@laissez/client'),
    'jwt/': packageRoot('@laissez/jwt/facts'),
  };
}

/** The package entries the browser modules import by name, and the module each is served as. */
const PACKAGE_MODULES: Record<string, string> = {
  '@laissez/client': 'client/index',
  '@laissez/jwt/facts': 'jwt/facts',
};

/** Static imports and exports of a laissez package (`from '@laissez/client'`). */
const PACKAGE_SPECIFIER = /(\bfrom\s*)(['"])(@laissez\/[^'"\n]*)\2/g;

/**
 * Points a browser module's imports of laissez packages (`@laissez/client`) at the module served
 * for them, relative to `name` (its path under /assets/). An entry not served is an error: a
 * browser could not load it. (test/server/pages.test.ts crawls the modules: every import must be
 * a served module.)
 */
export function linkPackageImports(code: string, name: string): string {
  const up = '../'.repeat(name.split('/').length - 1);
  return code.replace(PACKAGE_SPECIFIER, (_, from: string, quote: string, specifier: string) => {
    const target = PACKAGE_MODULES[specifier];
    if (target === undefined)
      throw new Error(`${name}: a browser module cannot import ${specifier}`);
    return `${from}${quote}${up}${target}.js${quote}`;
  });
}

/** Relative `.ts` specifiers in static imports and exports (`from './x.ts'`). */
const TS_SPECIFIER = /(\bfrom\s*)(['"])(\.{1,2}\/[^'"\n]+?)\.ts\2/g;

/** TypeScript (erasable syntax only) → browser JavaScript, with `.js` import specifiers. */
export function toBrowserModule(source: string): string {
  return stripTypes(source).replace(TS_SPECIFIER, '$1$2$3.js$2');
}

function stripTypes(source: string): string {
  // stripTypeScriptTypes is flagged experimental and says so once per process on stderr; the
  // server uses it knowingly, so that one warning is kept out of operators' logs.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).includes('stripTypeScriptTypes')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return stripTypeScriptTypes(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emitWarning;
  }
}

function asset(body: string | Buffer, type: string): Asset {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`;
  return { body: bytes, type, etag };
}

let cache: Map<string, Asset> | undefined;

/** The assets by URL path (`/assets/web/app.js`), built once per process. */
export function browserAssets(): Map<string, Asset> {
  if (cache) return cache;
  const assets = new Map<string, Asset>();
  const roots = moduleRoots();
  for (const name of BROWSER_MODULES) {
    const prefix = name.slice(0, name.indexOf('/') + 1);
    const root = roots[prefix];
    if (root === undefined) throw new Error(`no package serves ${name}`);
    const file = new URL(`${name.slice(prefix.length)}${root.ts ? '.ts' : '.js'}`, root.dir);
    const source = readFileSync(file, 'utf8');
    const code = root.ts
      ? toBrowserModule(source)
      : source.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
    assets.set(
      `/assets/${name}.js`,
      asset(linkPackageImports(code, name), 'text/javascript; charset=utf-8'),
    );
  }
  for (const [name, type] of Object.entries(STATIC_FILES)) {
    assets.set(`/assets/${name}`, asset(readFileSync(new URL(name, sourceDir)), type));
  }
  cache = assets;
  return assets;
}

/** The settings the pages read from their `<meta>` tags, by tag name. */
type PageSettings = Record<'cookies' | 'sign-in-links' | 'verify-email', boolean>;

function page(file: string, settings: PageSettings): Asset {
  let html = readFileSync(new URL(`web/${file}`, sourceDir), 'utf8');
  for (const [name, on] of Object.entries(settings)) {
    html = html.replace(
      `<meta name="laissez-${name}" content="off">`,
      `<meta name="laissez-${name}" content="${on ? 'on' : 'off'}">`,
    );
  }
  return asset(html, 'text/html; charset=utf-8');
}

function send(
  request: FastifyRequest,
  reply: FastifyReply,
  item: Asset,
  headers: Record<string, string> = {},
): FastifyReply {
  // Revalidated on each use (cheap: a 304 by ETag), so a new version is picked up at once.
  reply.headers({ 'cache-control': 'no-cache', etag: item.etag, ...headers });
  if (request.headers['if-none-match'] === item.etag) return reply.code(304).send();
  return reply.type(item.type).send(item.body);
}

/**
 * Registers `/`, `/debugger` and `/assets/*` on a Fastify instance, and the pages the links in
 * mails land on: `/reset-password` and (with sign-in links) `/sign-in`, which are the demo page:
 * it reads the link's token from the URL's fragment and posts it (docs/pages.md).
 */
export async function webPages(app: FastifyInstance, options: WebPagesOptions = {}): Promise<void> {
  const settings: PageSettings = {
    cookies: options.cookies ?? false,
    'sign-in-links': options.signInLinks ?? false,
    'verify-email': options.verifyEmail ?? false,
  };
  const pageHeaders = (csp: string) => ({
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  });
  const demo = page('index.html', settings);
  const pages = {
    '/': demo,
    '/reset-password': demo,
    '/sign-in': demo,
    '/debugger': page('debugger.html', settings),
  } as const;
  const paths = ['/', '/reset-password', '/debugger'] as const;
  for (const path of settings['sign-in-links'] ? [...paths, '/sign-in' as const] : paths) {
    const headers = pageHeaders(PAGE_CSP[path]);
    app.get(path, { schema: { hide: true } }, async (request, reply) =>
      send(request, reply, pages[path], headers),
    );
  }
  for (const [path, item] of browserAssets()) {
    app.get(path, { schema: { hide: true } }, async (request, reply) =>
      send(request, reply, item, { 'cross-origin-resource-policy': 'same-origin' }),
    );
  }
}
