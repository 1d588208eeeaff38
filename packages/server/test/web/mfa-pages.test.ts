// The second factors on the demo page, in Chromium (headless) against a real auth server on
// loopback: TOTP enrolled from the Security panel (the test is the user's authenticator app: it
// computes codes with otpauth from the key the page shows), the log-in's second step with a code
// and with a recovery code (once only), the one step of drift a code is allowed either side,
// passkeys added, renamed and removed from the page and used to sign in, with Chromium's virtual
// authenticator (DevTools protocol WebAuthn.addVirtualAuthenticator). WebAuthn needs a domain for
// its RP ID, so the page is served at http://localhost:4000 through Playwright's routing, which
// forwards every request to the server.
//
// Time is the test's, not the machine's: one clock that the server reads (its `now` option), the
// page reads (Playwright's page.clock fixes the page's Date.now: the DPoP proofs it signs carry
// that `iat`) and the codes are computed for. It stands still unless a test moves it, so a code
// never lands on the wrong side of a 30-second step while the machine is slow.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import { DEFAULT_RATE_LIMITS } from '../../src/auth/limits.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';
import { launch, skipBrowser } from './browser.ts';

const ORIGIN = 'http://localhost:4000';
const password = 'a long enough password';

/**
 * The test's time in ms, for the server, the page and the codes: a fixed instant, 10 s into a
 * 30-second TOTP step (and in the future, so that nothing lines up with the real time by chance).
 */
let clock = Date.UTC(2031, 4, 6, 9, 0, 10);

/** The code an authenticator app shows for `secret`, `steps` 30-second steps from the clock. */
const codeFor = (secret: string, steps = 0) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock + steps * 30_000 });

/** Moves the test's time: the server's at once, the page's with it. */
async function setClock(page: Page, time: number): Promise<void> {
  clock = time;
  await page.clock.setFixedTime(time);
}

/** Errors the page itself raised: exceptions, CSP or Trusted Types violations. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (/Content.Security.Policy|Trusted Type/i.test(message.text())) errors.push(message.text());
  });
  return errors;
}

describe('second factors on the page in Chromium', { skip: skipBrowser }, () => {
  let server: Running;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let users = 0;

  before(async () => {
    server = await start({
      // The page is at ORIGIN (Playwright forwards it to the server): that is the server's public
      // URL, which DPoP proofs name (htu) and passkeys expect.
      issuer: ORIGIN,
      passwordParams: FAST_ARGON2,
      rpId: 'localhost',
      rpOrigins: [ORIGIN],
      rateLimits: { ...DEFAULT_RATE_LIMITS, registerPerIp: { max: 100, window: 600 } },
      now: () => clock,
    });
    browser = await launch();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
  });

  /** A browser of its own at ORIGIN, with a virtual platform authenticator. */
  async function open(options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
    const context = await browser.newContext({ colorScheme: 'light', ...options });
    context.setDefaultTimeout(60_000);
    contexts.push(context);
    await context.route(/^http:\/\/localhost:4000\//, async (route) => {
      const url = new URL(route.request().url());
      // A request still in flight when the context closes (the page's refresh timer) is dropped.
      await route
        .fetch({ url: `${server.url}${url.pathname}${url.search}` })
        .then((response) => route.fulfill({ response }))
        .catch(() => undefined);
    });
    const page = await context.newPage();
    // Before the page loads: its client's proofs must name the server's time from the first one.
    await setClock(page, clock);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${ORIGIN}/`);
    await page.locator('html[data-ready="true"]').waitFor();
    return page;
  }

  async function newUser(): Promise<string> {
    const username = `mf${++users}`;
    const registered = await call(server.url, 'POST', '/auth/register', {
      body: { username, email: `${username}@example.com`, password },
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    return username;
  }

  /** Fills the log-in form; `signedIn`: waits for the profile. */
  async function passwordLogIn(page: Page, name: string, signedIn = true): Promise<void> {
    const form = page.getByRole('region', { name: 'Log in' });
    await form.getByLabel('Username or email').fill(name);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Log in', exact: true }).click();
    if (signedIn) await profileOf(page, name);
  }
  const profileOf = (page: Page, name: string) =>
    page
      .getByRole('region', { name: /Profile/ })
      .getByText(`${name}@example.com`)
      .waitFor();
  const logOut = async (page: Page) => {
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.getByRole('region', { name: 'Log in' }).waitFor();
  };
  /** The `amr` claim of the token the page shows. */
  const amrOf = async (page: Page) => {
    const token = (await page.locator('#token-view').textContent()) ?? '';
    return decodeUnverified(token).payload['amr'];
  };

  test('enrol TOTP from the page, log in with password and code; a recovery code works once', async () => {
    const page = await open();
    const errors = watchErrors(page);
    const name = await newUser();
    await passwordLogIn(page, name);

    const security = page.getByRole('region', { name: /Security/ });
    await security.getByText('Off: add an authenticator app').waitFor();
    await security.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const qr = security.getByRole('img', { name: 'QR code of the authenticator key' });
    await qr.waitFor();
    assert.match((await qr.getAttribute('src')) ?? '', /^data:image\/svg\+xml/);
    // The QR code rendered (the CSP lets the data: image in; nothing else of the page changed).
    assert.ok(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0));
    const secret = ((await security.locator('#totp-secret').textContent()) ?? '').replace(
      /\s/g,
      '',
    );
    assert.match(secret, /^[A-Z2-7]{16,}$/);

    // A wrong code first: refused, the enrolment stays open.
    const wrong = codeFor(secret) === '000000' ? '111111' : '000000';
    await security.getByLabel('Code from the app').fill(wrong);
    await security.getByRole('button', { name: 'Turn on' }).click();
    await security.locator('#totp-confirm-error').filter({ hasText: /\S/ }).waitFor();
    await security.getByLabel('Code from the app').fill(codeFor(secret));
    await security.getByRole('button', { name: 'Turn on' }).click();
    const codes = security.getByRole('list', { name: 'Your recovery codes' }).getByRole('listitem');
    await codes.first().waitFor();
    const recovery = await codes.allTextContents();
    assert.equal(recovery.length, 10);
    assert.equal(new Set(recovery).size, 10);
    await security.getByText('On: logging in with the password asks for a code').waitFor();
    await security.getByRole('button', { name: 'I have kept them' }).click();
    assert.equal(await codes.count(), 0, 'shown once, then gone from the page');

    // Log out; the password alone no longer logs in: the second step asks for a code.
    await logOut(page);
    await passwordLogIn(page, name, false);
    const step = page.getByRole('heading', { name: 'Second step' });
    await step.waitFor();
    assert.equal(await page.locator('#login-form').isVisible(), false);
    // The next step's code: the one used to confirm is spent (each step is accepted once).
    await page.getByLabel('Code', { exact: true }).fill(codeFor(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await profileOf(page, name);
    assert.deepEqual(await amrOf(page), ['pwd', 'otp', 'mfa']);

    // A recovery code in place of the code: works once.
    const [spare] = recovery as [string];
    await logOut(page);
    await passwordLogIn(page, name, false);
    await page.getByLabel('Code', { exact: true }).fill(spare);
    await page.getByRole('button', { name: 'Verify' }).click();
    await profileOf(page, name);
    await logOut(page);
    await passwordLogIn(page, name, false);
    await page.getByLabel('Code', { exact: true }).fill(spare);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#mfa-error').filter({ hasText: /\S/ }).waitFor();
    assert.equal(await page.locator('#signed-in').isVisible(), false);
    // Another recovery code still does.
    await page.getByLabel('Code', { exact: true }).fill(recovery[1]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await profileOf(page, name);
    assert.deepEqual(errors, []);
  });

  test("the page's clock is the server's: a code of the step before or after is accepted (one step of drift), two steps away refused", async () => {
    const page = await open();
    const errors = watchErrors(page);
    const name = await newUser();
    await passwordLogIn(page, name);
    const security = page.getByRole('region', { name: /Security/ });
    await security.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await security.getByRole('img', { name: 'QR code of the authenticator key' }).waitFor();
    const secret = ((await security.locator('#totp-secret').textContent()) ?? '').replace(
      /\s/g,
      '',
    );
    await security.getByLabel('Code from the app').fill(codeFor(secret));
    await security.getByRole('button', { name: 'Turn on' }).click();
    await security.getByText('On: logging in with the password asks for a code').waitFor();
    await security.getByRole('button', { name: 'I have kept them' }).click();
    await logOut(page);

    // Ten minutes on, for both: the step used to turn TOTP on is long past, and the page still
    // logs in (its proofs' iat is the server's time, not the machine's).
    await setClock(page, clock + 10 * 60_000);
    assert.equal(await page.evaluate(() => Date.now()), clock);
    /** Enters `code` in the second step; the status of the server's answer to it. */
    const step = async (code: string) => {
      const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/mfa/verify');
      await page.getByLabel('Code', { exact: true }).fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      return (await answer).status();
    };
    await passwordLogIn(page, name, false);
    await page.getByRole('heading', { name: 'Second step' }).waitFor();
    // Two steps away, either way: refused (one chance in about 300,000 that such a code has the
    // same six digits as one within the drift; it then proves nothing and is skipped).
    const near = new Set([-1, 0, 1].map((n) => codeFor(secret, n)));
    for (const far of [-2, 2]) {
      const code = codeFor(secret, far);
      if (near.has(code)) continue;
      assert.equal(await step(code), 401, `${far} steps away`);
      await page.locator('#mfa-error').filter({ hasText: /\S/ }).waitFor();
    }
    // The step before: accepted, in the same second step.
    assert.equal(await step(codeFor(secret, -1)), 200);
    await profileOf(page, name);
    assert.deepEqual(await amrOf(page), ['pwd', 'otp', 'mfa']);
    // The step after, at a new log-in.
    await logOut(page);
    await passwordLogIn(page, name, false);
    assert.equal(await step(codeFor(secret, 1)), 200);
    await profileOf(page, name);
    // No code of a step at or before the last one used is accepted: the current step's is refused.
    await logOut(page);
    await passwordLogIn(page, name, false);
    assert.equal(await step(codeFor(secret, 0)), 401);
    assert.equal(await page.locator('#signed-in').isVisible(), false);
    // Thirty seconds on, for both: the step after the last one used is within the drift.
    await setClock(page, clock + 30_000);
    assert.equal(await step(codeFor(secret, 1)), 200);
    await profileOf(page, name);
    assert.deepEqual(errors, []);
  });

  test('add a passkey from the page, rename it, sign in with it (passwordless and as the second step), remove it', async () => {
    const page = await open();
    const errors = watchErrors(page);
    const name = await newUser();
    await passwordLogIn(page, name);

    const security = page.getByRole('region', { name: /Security/ });
    await security.getByLabel('Name of the new passkey').fill('Laptop');
    await security.getByRole('button', { name: 'Add a passkey' }).click();
    await security.getByText('Passkey “Laptop” added').waitFor();
    const item = security.getByRole('list', { name: 'Passkeys' }).getByRole('listitem');
    assert.equal(await item.count(), 1);
    await item.getByRole('heading', { name: 'Laptop' }).waitFor();
    await item.getByLabel('New name').fill('Work laptop');
    await item.getByRole('button', { name: 'Rename' }).click();
    await item.getByRole('heading', { name: 'Work laptop' }).waitFor();

    // Passwordless: the discoverable credential names the user.
    await logOut(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await profileOf(page, name);
    assert.deepEqual(await amrOf(page), ['hwk', 'mfa']);
    await item
      .getByText(/ago|in /)
      .first()
      .waitFor(); // last used: now

    // With a passkey, the password asks for a second step: "Use a passkey".
    await logOut(page);
    await passwordLogIn(page, name, false);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await profileOf(page, name);
    assert.deepEqual(await amrOf(page), ['pwd', 'hwk', 'mfa']);

    await item.getByRole('button', { name: 'Remove' }).click();
    await security.getByText('Passkey “Work laptop” removed').waitFor();
    assert.equal(await item.count(), 0);
    await logOut(page);
    await passwordLogIn(page, name); // the password alone again
    assert.deepEqual(errors, []);
  });

  test('on a phone: the Security panel and the second step without sideways scrolling, every control labelled', async () => {
    const page = await open({
      viewport: { width: 375, height: 740 },
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
    });
    const name = await newUser();
    await passwordLogIn(page, name);
    const security = page.getByRole('region', { name: /Security/ });
    await security.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await security.getByRole('img', { name: 'QR code of the authenticator key' }).waitFor();
    const secret = ((await security.locator('#totp-secret').textContent()) ?? '').replace(
      /\s/g,
      '',
    );
    await security.getByLabel('Name of the new passkey').fill('Phone');
    await security.getByRole('button', { name: 'Add a passkey' }).click();
    await security.getByText('Passkey “Phone” added').waitFor();
    await security.getByLabel('Code from the app').fill(codeFor(secret));
    await security.getByRole('button', { name: 'Turn on' }).click();
    await security
      .getByRole('list', { name: 'Your recovery codes' })
      .getByRole('listitem')
      .first()
      .waitFor();

    const check = async (where: string) => {
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 0, `${where} scrolls sideways by ${overflow}px`);
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea')]
          .filter((c) => (c as HTMLInputElement).labels?.length === 0)
          .map((c) => c.id),
      );
      assert.deepEqual(unlabelled, [], `${where}: controls without a label`);
    };
    await check('the Security panel');
    await logOut(page);
    await passwordLogIn(page, name, false);
    await page.getByRole('heading', { name: 'Second step' }).waitFor();
    await check('the second step');
    // Every button in the step can be reached and has a name.
    for (const label of ['Verify', 'Use a passkey', 'Cancel']) {
      await page.getByRole('button', { name: label, exact: true }).waitFor();
    }
  });
});
