// The account pages of the demo in a real browser (Chromium, headless) against a real auth server
// on loopback in cookie mode, with email verification and sign-in links on and mail written to the
// embedded outbox (<data-dir>/outbox/*.eml), which the test reads as the user's mailbox: forgot
// password end to end, the verification banner and its resend, sign-in by link, change password,
// the session list from two browsers (ending the other one), and deleting the account.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FAST_ARGON2, type Running, start } from '../helpers/server.ts';
import { linkOf } from '../helpers/smtp.ts';
import { launch, skipBrowser, until } from './browser.ts';

const ACCESS_TTL = 4;
const PUBLIC_URL = 'https://auth.example.test';

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

describe('the account pages in Chromium', { skip: skipBrowser }, () => {
  let server: Running;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const newContext = async (options?: Parameters<Browser['newContext']>[0]) => {
    const context = await browser.newContext({ colorScheme: 'light', ...options });
    context.setDefaultTimeout(60_000);
    contexts.push(context);
    return context;
  };

  /** The links mailed to `address` whose path is `path`, oldest first. */
  const linksTo = (address: string, path: string): string[] => {
    const outbox = join(server.dataDir, 'outbox');
    if (!existsSync(outbox)) return [];
    return readdirSync(outbox)
      .sort()
      .map((file) => readFileSync(join(outbox, file), 'utf8'))
      .filter((raw) => new RegExp(`^To: .*${address}`, 'mi').test(raw))
      .map((raw) => linkOf(raw))
      .filter((link) => new URL(link).pathname === path);
  };
  /** Waits for the `count`th such link; answers it on this server (the mail names PUBLIC_URL). */
  const awaitLink = async (address: string, path: string, count = 1): Promise<string> => {
    const links = await until(`mail number ${count} to ${address} with ${path}`, () => {
      const found = linksTo(address, path);
      return found.length >= count ? found : undefined;
    });
    const link = new URL(links[count - 1]!);
    assert.equal(link.origin, PUBLIC_URL);
    return `${server.url}${link.pathname}${link.search}${link.hash}`;
  };

  /** Registers through the form (202 under --verify-email) and follows the verification link. */
  const register = async (page: Page, name: string, password: string, verify = true) => {
    await page.goto(`${server.url}/`);
    const form = page.getByRole('region', { name: 'Register' });
    await form.getByLabel('Username').fill(name);
    await form.getByLabel('Email').fill(`${name}@example.com`);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Check your mail: a link to confirm the address').waitFor();
    const link = await awaitLink(`${name}@example.com`, '/auth/verify-email');
    if (verify) assert.equal((await fetch(link)).status, 200);
  };

  const logIn = async (page: Page, name: string, password: string) => {
    await page.goto(`${server.url}/`);
    const form = page.getByRole('region', { name: 'Log in' });
    await form.getByLabel('Username or email').fill(name);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByRole('region', { name: /Profile/ })
      .getByText(`${name}@example.com`)
      .waitFor();
  };

  before(async () => {
    server = await start({
      cookies: true,
      accessTtl: ACCESS_TTL,
      passwordParams: FAST_ARGON2,
      publicUrl: PUBLIC_URL,
      verifyEmail: true,
      signInLinks: true,
    });
    browser = await launch();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
  });

  test('forgot password: request, the mail, the link (token kept out of every URL), a new password, log in with it', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    const requested: string[] = [];
    page.on('request', (request) =>
      requested.push(`${request.url()} ${request.headers().referer ?? ''}`),
    );
    await register(page, 'sigrun', 'the first password');

    await page.goto(`${server.url}/`);
    const login = page.getByRole('region', { name: 'Log in' });
    const forgot = login.locator('#forgot-form');
    await forgot.getByLabel('Email').fill('sigrun@example.com');
    await forgot.getByRole('button', { name: 'Send a reset link' }).click();
    await page.getByText('Check your mail: if an account has this address').waitFor();

    const link = await awaitLink('sigrun@example.com', '/reset-password');
    const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token')!;
    assert.match(token, /^lz1_/);
    await page.goto(link);
    const reset = page.getByRole('region', { name: 'Choose a new password' });
    await reset.waitFor();
    // The fragment is gone from the address bar and from this history entry.
    assert.equal(page.url(), `${server.url}/reset-password`);

    // Two different passwords: refused in the page, nothing sent.
    await reset.getByLabel('New password', { exact: true }).fill('a brand new password');
    await reset.getByLabel('New password, again').fill('a brand new passwort');
    await reset.getByRole('button', { name: 'Set the new password' }).click();
    await reset.getByText('The two passwords differ').waitFor();
    await reset.getByLabel('New password, again').fill('a brand new password');
    await reset.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByText('Your password is changed').waitFor();
    assert.equal(await reset.isHidden(), true);

    // The old password is refused, the new one logs in.
    const form = page.getByRole('region', { name: 'Log in' });
    await form.getByLabel('Username or email').fill('sigrun');
    await form.getByLabel('Password').fill('the first password');
    await form.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#login-error').getByText(/./).waitFor();
    await logIn(page, 'sigrun', 'a brand new password');

    // The link is spent: opening it again and submitting says so.
    const again = await context.newPage();
    await again.goto(link);
    const second = again.getByRole('region', { name: 'Choose a new password' });
    await second.getByLabel('New password', { exact: true }).fill('yet another password');
    await second.getByLabel('New password, again').fill('yet another password');
    await second.getByRole('button', { name: 'Set the new password' }).click();
    await until('the refusal', async () => (await text(again, '#reset-error')).length > 0);

    // No request carried the token: not in a URL, not in a Referer.
    assert.ok(requested.length > 0);
    for (const entry of requested) assert.ok(!entry.includes(token), entry);
    assert.deepEqual(errors, []);
  });

  test('the verification banner: shown while the email is unverified, resend sends a new link, gone once followed', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    await register(page, 'hilda', 'hilda password', false);
    await logIn(page, 'hilda', 'hilda password');
    const banner = page.locator('#verify-banner');
    await banner.getByText('not verified yet').waitFor();
    assert.match(await text(page, '#verify-email'), /^hilda@example\.com$/);
    await banner.getByRole('button', { name: 'Send the link again' }).click();
    await banner.getByText('A new link is on its way').waitFor();
    const link = await awaitLink('hilda@example.com', '/auth/verify-email', 2);
    assert.equal((await fetch(link)).status, 200);
    await page.getByRole('button', { name: 'Reload profile' }).click();
    await until('the banner to go', () => banner.isHidden());
    assert.match(await text(page, '#profile'), /Email verifiedyes/);
    assert.deepEqual(errors, []);
  });

  test('sign-in link: request it, open the mail, logged in; the token stays out of every URL', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await register(page, 'eir', 'eir password');
    await page.goto(`${server.url}/`);
    await page.locator('#sign-in-link:visible').waitFor();
    const form = page.locator('#sign-in-link-form');
    await form.getByLabel('Email').fill('eir@example.com');
    await form.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByText('a link that logs you in is on its way').waitFor();
    const link = await awaitLink('eir@example.com', '/sign-in');
    const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token')!;
    await page.goto(link);
    await page
      .getByRole('region', { name: /Profile/ })
      .getByText('eir@example.com')
      .waitFor();
    assert.equal(page.url(), `${server.url}/`);
    for (const url of requested) assert.ok(!url.includes(token), url);
    // Spent: the same link again logs no one in.
    const other = await (await newContext()).newPage();
    await other.goto(link);
    await other.getByText('The sign-in link did not work').waitFor();
    assert.equal(await other.locator('#signed-in').isHidden(), true);
    assert.deepEqual(errors, []);
  });

  test('sessions from two browsers: listed with "this device"; ending the other one logs it out at its next refresh; change password', async () => {
    const one = await newContext({ viewport: { width: 1100, height: 900 } });
    // The second browser says it is Firefox on Windows: the list labels each session by its device.
    const two = await newContext({
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
    });
    const first = await one.newPage();
    const second = await two.newPage();
    const errors = [...watchErrors(first), ...watchErrors(second)];
    await register(first, 'bragi', 'bragi password');
    await logIn(first, 'bragi', 'bragi password');
    await logIn(second, 'bragi', 'bragi password');

    await first.getByRole('button', { name: 'Reload the list' }).click();
    const items = first.locator('#sessions > li');
    await until('two sessions', async () => (await items.count()) === 2);
    const current = first.locator('#sessions > li[data-current="true"]');
    assert.match((await current.textContent()) ?? '', / on Linux · this device/);
    assert.match((await current.textContent()) ?? '', /Address127\.0\.0\.1/);
    const theOther = first.locator('#sessions > li:not([data-current])');
    assert.match((await theOther.textContent()) ?? '', /^Firefox on WindowsAddress127\.0\.0\.1/);
    await theOther.getByRole('button', { name: 'End this session' }).click();
    await first.getByText('Ended the session of Firefox on Windows').waitFor();
    await until('one session left', async () => (await items.count()) === 1);

    // The other browser still holds a valid access token (stateless); its next refresh fails.
    await second.getByText('Your session has ended').waitFor();
    assert.equal(await second.locator('#signed-out').isVisible(), true);

    // Change password: the current one is required; then the new one logs in.
    const change = first.getByRole('region', { name: 'Change password' });
    await change.getByLabel('Current password').fill('not the password');
    await change.getByLabel('New password').fill('bragi new password');
    await change.getByRole('button', { name: 'Change password' }).click();
    await until('the refusal', async () => (await text(first, '#password-error')).length > 0);
    await logIn(second, 'bragi', 'bragi password');
    await change.getByLabel('Current password').fill('bragi password');
    await change.getByLabel('New password').fill('bragi new password');
    await change.getByRole('button', { name: 'Change password' }).click();
    await first.getByText('Password changed. 1 other session ended; this one stays.').waitFor();
    await second.getByText('Your session has ended').waitFor();
    await logIn(second, 'bragi', 'bragi new password');
    assert.deepEqual(errors, []);
  });

  test('delete my account: the password confirms; logged out, and the account is gone', async () => {
    const context = await newContext({
      viewport: { width: 375, height: 740 },
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await register(page, 'loki', 'loki password');
    await logIn(page, 'loki', 'loki password');
    // On a phone, signed in: no sideways scrolling, every control labelled.
    await page.locator('#sessions > li').first().waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map((e) => `${e.tagName}#${e.id}.${e.className}: ${e.getBoundingClientRect().right}`)
        .slice(0, 8),
    );
    assert.ok(overflow <= 0, `scrolls sideways by ${overflow}px: ${wide.join('; ')}`);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input:not([hidden]), select, textarea')]
        .filter((c) => (c as HTMLInputElement).labels?.length === 0)
        .map((c) => c.id),
    );
    assert.deepEqual(unlabelled, []);

    const remove = page.getByRole('region', { name: 'Delete my account' });
    await remove.getByLabel('Your password, to confirm').fill('wrong password');
    await remove.getByRole('button', { name: 'Delete my account' }).click();
    await until('the refusal', async () => (await text(page, '#delete-error')).length > 0);
    assert.equal(await page.locator('#signed-in').isVisible(), true);
    await remove.getByLabel('Your password, to confirm').fill('loki password');
    // Keyboard: Enter in the field submits the form.
    await remove.getByLabel('Your password, to confirm').press('Enter');
    await page.getByText('Your account is deleted').waitFor();
    assert.equal(await page.locator('#signed-out').isVisible(), true);
    assert.equal(
      (await context.cookies()).some((c) => c.name === 'laissez_rt'),
      false,
    );
    const form = page.getByRole('region', { name: 'Log in' });
    await form.getByLabel('Username or email').fill('loki');
    await form.getByLabel('Password').fill('loki password');
    await form.getByRole('button', { name: 'Log in' }).click();
    await until('the refusal', async () => (await text(page, '#login-error')).length > 0);
    assert.deepEqual(errors, []);
  });
});
