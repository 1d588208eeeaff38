// The pages in a real browser (Chromium, headless) against a real auth server on loopback in
// cookie mode with a 4-second access token: the demo's whole log-in flow, two tabs, and the
// debugger with the seed's Odin token, checked by request interception to stay in the page.
// LAISSEZ_SCREENSHOTS=1 also writes docs/screenshots/*.png.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FAST_ARGON2, type Running, start } from '../helpers/server.ts';
import { keepScreenshot, launch, skipBrowser, until } from './browser.ts';

const ODIN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiT2RpbiJ9.FtLFoA9kG8B_gvKz0nEzx4uDYAlsgWhxTGEUfinYcf8';
const ACCESS_TTL = 4;

/** Errors the page itself raised: exceptions, CSP or Trusted Types violations. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (/Content.Security.Policy|Trusted Type/i.test(message.text())) errors.push(message.text());
  });
  return errors;
}

const text = async (page: Page, selector: string) =>
  (await page.locator(selector).textContent()) ?? '';

describe('the pages in Chromium', { skip: skipBrowser }, () => {
  let server: Running;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const newContext = async (options?: Parameters<Browser['newContext']>[0]) => {
    const context = await browser.newContext({ colorScheme: 'light', ...options });
    context.setDefaultTimeout(60_000);
    contexts.push(context);
    return context;
  };

  before(async () => {
    server = await start({ cookies: true, accessTtl: ACCESS_TTL, passwordParams: FAST_ARGON2 });
    browser = await launch();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
  });

  test('demo: register and log in through the forms, see the profile, outlive the access token, log out and be refused', async () => {
    const context = await newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const logins: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/auth/login') logins.push(request.method());
    });
    await page.goto(`${server.url}/`);
    // Without a session yet, the page's restore() (a body-less POST /auth/refresh) is refused with
    // 401, and the request log says why.
    await until('the refused restore in the log', async () =>
      /POST \/auth\/refresh → 401 \(no session/.test(await text(page, '#log')),
    );

    const register = page.getByRole('region', { name: 'Register' });
    await register.getByLabel('Username').fill('odin');
    await register.getByLabel('Email').fill('odin@example.com');
    await register.getByLabel('Password').fill('theodinproject rocks');
    await register.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Account created for odin').waitFor();

    const login = page.getByRole('region', { name: 'Log in' });
    assert.equal(await login.getByLabel('Username or email').inputValue(), 'odin');
    await login.getByLabel('Password').fill('theodinproject rocks');
    await login.getByRole('button', { name: 'Log in' }).click();

    const profile = page.getByRole('region', { name: /Profile/ });
    await profile.getByText('odin@example.com').waitFor();
    assert.match(await text(page, '#profile'), /Usernameodin.*Rolesuser/);
    const firstToken = await text(page, '#token-view');
    const payload = JSON.parse(await text(page, '#token-payload')) as { exp: number; sub: string };
    assert.equal(JSON.parse(await text(page, '#token-header')).typ, 'at+jwt');

    // The refresh token is in an HttpOnly cookie: in the browser, out of reach of scripts.
    const refreshCookie = (await context.cookies()).find((c) => c.name === 'laissez_rt');
    assert.ok(refreshCookie?.httpOnly, 'laissez_rt is HttpOnly');
    assert.equal(refreshCookie.path, '/auth');
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('laissez_rt'));

    // Past the first token's lifetime, the page holds a new token and still works, without a
    // second log-in.
    await until('the first access token to expire', () => Date.now() > payload.exp * 1000 + 500);
    await until('a refreshed token', async () =>
      /refreshed [1-9]\d* times?/.test(await text(page, '#refresh-count')),
    );
    assert.notEqual(await text(page, '#token-view'), firstToken);
    await profile.getByRole('button', { name: 'Reload profile' }).click();
    await page.getByRole('button', { name: 'GET /auth/me' }).click();
    await until('the API answer', async () =>
      /^200 OK: you are odin/.test(await text(page, '#api-result')),
    );
    assert.equal(JSON.parse(await text(page, '#token-payload')).sub, payload.sub);
    assert.deepEqual(logins, ['POST'], 'logged in once');
    await keepScreenshot(page, 'demo');

    // A second tab resumes the session from the cookie; logging out in the first ends both.
    const tab = await context.newPage();
    const tabErrors = watchErrors(tab);
    await tab.goto(`${server.url}/`);
    await tab
      .getByRole('region', { name: /Profile/ })
      .getByText('odin@example.com')
      .waitFor();
    const spentCookie = (await context.cookies()).find((c) => c.name === 'laissez_rt')!;

    await profile.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.getByText('Logged out: the refresh token is revoked').waitFor();
    assert.equal(await page.locator('#signed-in').isHidden(), true);
    await tab.getByText('(in another tab)').waitFor();
    assert.equal(await tab.locator('#signed-out').isVisible(), true);

    // Refused: the API without a session, and the revoked refresh token if replayed.
    await page.getByRole('button', { name: 'GET /auth/me' }).click();
    await until('the refusal', async () =>
      /^401 refused: invalid_token/.test(await text(page, '#api-result')),
    );
    assert.equal(
      (await context.cookies()).some((c) => c.name === 'laissez_rt'),
      false,
    );
    await context.addCookies([spentCookie]);
    const replay = await page.evaluate(async () => {
      const response = await fetch('/auth/refresh', { method: 'POST' });
      return { status: response.status, body: await response.json() };
    });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error, 'invalid_grant');
    await page.reload();
    await page.getByRole('region', { name: 'Log in' }).waitFor();
    assert.equal(await page.locator('#signed-in').isHidden(), true);
    assert.deepEqual([...errors, ...tabErrors], []);
  });

  test('demo without cookie mode: the page says so; the session lives in the page only', async () => {
    const plain = await start({ passwordParams: FAST_ARGON2 });
    try {
      const context = await newContext();
      const page = await context.newPage();
      const errors = watchErrors(page);
      const refreshes: string[] = [];
      page.on('request', (request) => {
        if (request.url().endsWith('/auth/refresh')) refreshes.push(request.url());
      });
      await page.goto(`${plain.url}/`);
      await page.getByText('runs without cookie mode').waitFor();
      const register = page.getByRole('region', { name: 'Register' });
      await register.getByLabel('Username').fill('frigg');
      await register.getByLabel('Email').fill('frigg@example.com');
      await register.getByLabel('Password').fill('a long enough password');
      await register.getByRole('button', { name: 'Create account' }).click();
      const login = page.getByRole('region', { name: 'Log in' });
      await page.getByText('Account created for frigg').waitFor();
      await login.getByLabel('Password').fill('a long enough password');
      await login.getByRole('button', { name: 'Log in' }).click();
      await page.getByText('frigg@example.com').waitFor();
      assert.deepEqual(await context.cookies(), [], 'no cookies at all');
      // No token of the session in storage: only the device token of the log-in lock-out (a key
      // to this browser's budget of failed log-ins, docs/client.md), which a reload keeps.
      const storage = await page.evaluate(() => ({
        local: Object.entries(localStorage),
        session: sessionStorage.length,
      }));
      assert.equal(storage.session, 0, 'nothing in sessionStorage');
      assert.deepEqual(
        storage.local.map(([key]) => key),
        [`laissez:device:${plain.url}/`],
        'only the device token in localStorage',
      );
      assert.match(storage.local[0]![1], /^d1\.[\w-]+\.\d+\.[\w-]+\.[\w-]+$/);
      const accessToken = await text(page, '#token-view');
      assert.ok(accessToken.length > 0 && !storage.local[0]![1].includes(accessToken));
      assert.deepEqual(refreshes, [], 'no attempt to resume a session');
      await page.reload();
      await page.getByRole('region', { name: 'Log in' }).waitFor();
      assert.equal(await page.locator('#signed-in').isHidden(), true);
      assert.deepEqual(errors, []);
    } finally {
      await plain.close();
    }
  });

  test('debugger: the Odin token decodes, verifies with "theodinproject" (weak key), fails when changed, and is sent nowhere', async () => {
    const context = await newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const intercepted: { url: string; method: string; headers: string; body: string }[] = [];
    await page.route('**/*', async (route) => {
      const request = route.request();
      intercepted.push({
        url: request.url(),
        method: request.method(),
        headers: JSON.stringify(await request.allHeaders()),
        body: request.postData() ?? '',
      });
      await route.continue();
    });
    await page.goto(`${server.url}/debugger`);
    await page.locator('html[data-ready="true"]').waitFor();

    const tokenField = page.getByLabel('Encoded token');
    await tokenField.fill(ODIN);
    await page.locator('#decoded').waitFor();
    assert.deepEqual(JSON.parse(await text(page, '#payload-json')), { name: 'Odin' });
    assert.deepEqual(JSON.parse(await text(page, '#header-json')), { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(
      await page
        .locator('#token-view span')
        .evaluateAll((spans) => spans.map((s) => [s.className, getComputedStyle(s).color])),
      [
        ['tok-header', 'rgb(163, 18, 58)'],
        ['tok-dot', 'rgb(27, 31, 36)'],
        ['tok-payload', 'rgb(107, 47, 168)'],
        ['tok-dot', 'rgb(27, 31, 36)'],
        ['tok-signature', 'rgb(10, 90, 135)'],
      ],
      'three parts, coloured apart',
    );
    assert.match(await text(page, '#expiry'), /No expiry/);

    await page.getByLabel('Secret or public key').pressSequentially('theodinproject');
    const verdict = page.getByRole('status').filter({ hasText: 'Signature' });
    await verdict.getByText('Signature verified').waitFor();
    assert.match(await text(page, '#warnings'), /Weak secret: 14 bytes \(112 bits\)/);
    await keepScreenshot(page, 'debugger');

    // One character changed (in the signature): the verdict turns.
    const changed = `${ODIN.slice(0, -10)}${ODIN.at(-10) === 'A' ? 'B' : 'A'}${ODIN.slice(-9)}`;
    await tokenField.fill(changed);
    await verdict.getByText('Invalid signature').waitFor();
    // ... and in the payload.
    await tokenField.fill(ODIN.replace('.eyJuYW1l', '.eyJuYW1m'));
    await page.getByText('Invalid signature').waitFor();
    await tokenField.fill(ODIN);
    await page.getByText('Signature verified').waitFor();

    // The page cannot send it even if it tried: connect-src 'none'.
    const attempt = await page.evaluate(() =>
      fetch('/healthz').then(
        () => 'sent',
        () => 'blocked',
      ),
    );
    assert.equal(attempt, 'blocked');

    // Every request the page made: the page and its assets, nothing carrying the token or secret.
    assert.ok(intercepted.length > 0);
    const [, payloadSegment, signature] = ODIN.split('.') as [string, string, string];
    for (const request of intercepted) {
      assert.equal(request.method, 'GET', request.url);
      assert.match(new URL(request.url).pathname, /^\/(debugger|assets\/.+)$/);
      for (const secret of [signature, payloadSegment, 'theodinproject', 'Odin']) {
        const where = `${request.url} ${request.headers} ${request.body}`;
        assert.ok(!where.includes(secret), `${request.url} carries ${secret}`);
      }
    }
    // Only the blocked fetch may have complained.
    assert.ok(errors.length > 0 && errors.every((e) => e.includes('/healthz')), errors.join('\n'));
  });

  test('keyboard only: the example token and a typed secret reach a verdict', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/debugger`);
    await page.locator('html[data-ready="true"]').waitFor();
    // Tab from the top of the page to the example button, press Enter, then Tab to the key.
    const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
    await page.keyboard.press('Tab');
    assert.equal(
      await page.evaluate(() => document.activeElement?.textContent),
      'Skip to the debugger',
    );
    let steps = 0;
    while ((await focused()) !== 'example' && steps++ < 20) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.equal(await focused(), 'token');
    steps = 0;
    while ((await focused()) !== 'key' && steps++ < 20) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'key');
    await page.keyboard.type('theodinproject');
    await page.getByText('Signature verified').waitFor();
    // Focus is visible: an outline on the focused field.
    const outline = await page.evaluate(
      () => getComputedStyle(document.activeElement as Element).outlineStyle,
    );
    assert.equal(outline, 'solid');
  });

  test('on a phone: no sideways scrolling, every control labelled', async () => {
    const context = await newContext({
      viewport: { width: 375, height: 740 },
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    for (const path of ['/', '/debugger']) {
      await page.goto(`${server.url}${path}`);
      await page
        .locator('html[data-ready="true"]')
        .or(page.locator('#signed-out:visible'))
        .first()
        .waitFor();
      if (path === '/debugger') {
        await page.getByLabel('Encoded token').fill(ODIN);
        await page.getByLabel('Secret or public key').fill('theodinproject');
        await page.getByText('Signature verified').waitFor();
        await keepScreenshot(page, 'debugger-phone');
      }
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px`);
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea')]
          .filter((c) => (c as HTMLInputElement).labels?.length === 0)
          .map((c) => c.id),
      );
      assert.deepEqual(unlabelled, [], `${path}: controls without a label`);
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    }
  });
});
