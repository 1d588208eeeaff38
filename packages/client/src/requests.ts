// The requests a LaissezClient sends, with what DPoP (RFC 9449) adds to them: a proof per request,
// the servers' nonces and one retry when a server asks for a new one; and the step-up hook of
// RFC 9470, called once for the challenges that arrive while it runs.

import { asksForNonce, type StepUpChallenge } from './challenge.ts';
import { DpopProofs } from './dpop.ts';
import { throwFor } from './errors.ts';
import { authPost, type Prepared, withToken } from './http.ts';
import type { Settings } from './options.ts';
import type { AccessToken } from './tokens.ts';

export class Requests {
  readonly #o: Settings;
  /** With the `dpop` option: the key, the servers' nonces, the proofs. */
  readonly dpop: DpopProofs | null;
  /** The step-up in progress: concurrent challenges wait for the one call of `onStepUp`. */
  #steppingUp: Promise<boolean> | null = null;

  constructor(settings: Settings) {
    this.#o = settings;
    this.dpop = settings.dpop ? new DpopProofs(settings.base.href, settings.now) : null;
  }

  /**
   * Sends a prepared request with `access` (and a DPoP proof), keeping the original for a retry.
   * RFC 9449 §8-9: an answer asking for a nonce that brings a new one is sent once more with it.
   */
  async send(prepared: Prepared, access: AccessToken | null): Promise<Response> {
    const dpop = this.dpop;
    const { method, url } = prepared.request;
    const make = async () =>
      withToken(prepared, access, await dpop?.proof(method, url, access?.token));
    const response = await this.#o.fetch(await make());
    if (dpop === null || !dpop.noteNonce(url, response) || !(await asksForNonce(response))) {
      return response;
    }
    await response.body?.cancel();
    const again = await this.#o.fetch(await make());
    dpop.noteNonce(url, again);
    return again;
  }

  /**
   * A POST of `body` to `path` of the auth server, with its cookies, and a DPoP proof when `prove`
   * (log-in, refresh: RFC 9449 §5); throws `AuthError` unless `ok` or not `check`.
   */
  async auth(
    path: string,
    body: object | undefined,
    check = true,
    prove = false,
  ): Promise<Response> {
    const url = new URL(path, this.#o.base);
    const dpop = prove ? this.dpop : null;
    const make = async () => authPost(url, body, await dpop?.proof('POST', url.href));
    let response = await this.#o.fetch(await make());
    if (dpop?.noteNonce(url.href, response) && (await asksForNonce(response))) {
      await response.body?.cancel();
      response = await this.#o.fetch(await make());
      dpop.noteNonce(url.href, response);
    }
    if (check && !response.ok) await throwFor(response);
    return response;
  }

  /** One call of `onStepUp` for the challenges that arrive while it runs; true: send again. */
  stepUp(challenge: StepUpChallenge): Promise<boolean> {
    const hook = this.#o.onStepUp;
    if (hook === undefined) return Promise.resolve(false);
    if (this.#steppingUp) return this.#steppingUp;
    const promise = (async () => (await hook(challenge)) !== false)().finally(() => {
      if (this.#steppingUp === promise) this.#steppingUp = null;
    });
    this.#steppingUp = promise;
    return promise;
  }
}
