// Sessions: a log-in starts a refresh-token family (the session id `sid` of its access tokens);
// a refresh spends its token and hands out the family's one successor (racing tabs within the
// grace window get that same successor, reuse after it revokes the family); log-out and log-out
// everywhere revoke families. Ended sessions are announced to a revocation sink. The shapes of
// tokens and grants are in session-types.ts; the refresh token's own rules in refresh-token.ts.
import { randomBytes } from 'node:crypto';
import {
  type NewRefreshToken,
  type RefreshToken,
  type RevocationReason,
  type Session,
  type Store,
  type User,
  unrotatable,
} from '../store/types.ts';
import { newId } from './accounts.ts';
import type { AuditSink } from './audit.ts';
import { AuthServiceError } from './errors.ts';
import { sha256 } from './hash.ts';
import type { KeyRing } from './keyring.ts';
import { endedSession, REFRESH_TOKEN, SUCCESSOR_PURPOSE, successorToken } from './refresh-token.ts';
import { allowedScopes, grantScope, parseScope, type RoleScopes, scopeText } from './scopes.ts';
import type {
  GrantInput,
  LogInGrant,
  RequestContext,
  RevocationSink,
  TokenSet,
} from './session-types.ts';
import type { AccessTokens } from './tokens.ts';

export { SUCCESSOR_PURPOSE } from './refresh-token.ts';
export type {
  AccessClaims,
  GrantInput,
  LogInGrant,
  RequestContext,
  RevocationSink,
  TokenSet,
} from './session-types.ts';

export interface SessionsOptions {
  store: Store;
  keyRing: KeyRing;
  /** Builds the access tokens (claims, reserved claims, size budget). */
  tokens: AccessTokens;
  /** Scopes each role allows; undefined: tokens carry no scope. */
  roleScopes: RoleScopes | undefined;
  /** The first-party client id (`client_id` of log-in tokens). */
  clientId: string;
  accessTtl: number;
  refreshTtl: number;
  reuseGrace: number;
  now: () => number;
  revocations: RevocationSink | undefined;
  onRevocationError: (error: unknown) => void;
  /** Where log-outs and reuse detections are recorded. Default: nowhere. */
  audit?: AuditSink;
}

/**
 * How many rotations a request within the grace window may follow to reach the live token of its
 * family: a tab that raced a rotation which was itself rotated again a moment later. More than
 * this within one grace window is not racing tabs.
 */
const MAX_HOPS = 8;

export class Sessions {
  readonly #o: SessionsOptions;
  /**
   * Derives successors: the same on every instance that shares the key-encryption key. After
   * `laissez keys rewrap`, instances on the new KEK derive other successors than those still on
   * the old one: a racer answered by the other kind gets "just used by another request" (see
   * `#raced`), never a fork and never a reuse revocation.
   */
  #successorSecret: Buffer | undefined;

  constructor(options: SessionsOptions) {
    this.#o = options;
  }

  /** Derived on the first refresh (HKDF, microseconds), then kept. */
  get #secret(): Buffer {
    this.#successorSecret ??= this.#o.keyRing.deriveSecret(SUCCESSOR_PURPOSE);
    return this.#successorSecret;
  }

  /**
   * Starts a session (a new family) for a user who just proved who they are, with the scope asked
   * for (within what the user's roles allow), how they proved it (`amr`, RFC 8176) and when
   * (`authTime`, ms; default now). The family keeps scope, amr and log-in time, so every access
   * token of the session says them (`amr`, `auth_time` in seconds, OpenID Connect Core §2). The
   * access token is built before anything is stored: a claims function that fails leaves no
   * family behind.
   */
  async start(user: User, grant: LogInGrant = {}): Promise<TokenSet> {
    const requested = grant.scope === undefined ? undefined : parseScope(grant.scope);
    const scope = grantScope(requested, allowedScopes(this.#o.roleScopes, user.roles));
    const familyId = newId();
    const now = this.#o.now();
    const authTime = grant.authTime ?? now;
    const amr = grant.amr === undefined ? undefined : [...grant.amr];
    const access = await this.#access(
      user,
      familyId,
      scope,
      grant.request,
      { authTime, ...(amr !== undefined ? { amr } : {}) },
      grant.jkt,
    );
    const expiresAt = now + this.#o.refreshTtl * 1000;
    const refresh = `rt_${randomBytes(32).toString('base64url')}`;
    await this.#o.store.createRefreshToken({
      tokenHash: sha256(refresh),
      familyId,
      userId: user.id,
      createdAt: now,
      expiresAt,
      ...(grant.client ? { client: grant.client } : {}),
      // Recorded only when scopes are configured: null means "whatever the roles allow".
      scope: this.#o.roleScopes ? scopeText(scope) : null,
      authTime,
      ...(amr !== undefined ? { amr } : {}),
      jkt: grant.jkt ?? null,
    });
    return this.#tokens(access, refresh, expiresAt, now, scope, grant.jkt);
  }

  /**
   * The access token of a session: its user, family (`sid`), scope, and how and when the user
   * logged in (each when the family recorded it).
   */
  #access(
    user: User,
    familyId: string,
    scope: readonly string[],
    request: RequestContext | undefined,
    auth: { amr?: readonly string[]; authTime?: number; createdAt?: number },
    jkt: string | undefined,
  ): Promise<string> {
    return this.#o.tokens.issue({
      subject: user.id,
      clientId: this.#o.clientId,
      scope,
      user,
      // The claims function's `created_at`: the log-in time, or for a family from before it was
      // recorded, its token's time.
      session: { id: familyId, createdAt: auth.authTime ?? auth.createdAt ?? 0 },
      auth: {
        ...(auth.amr !== undefined ? { amr: auth.amr } : {}),
        ...(auth.authTime !== undefined ? { authTime: auth.authTime } : {}),
      },
      ...(request ? { request } : {}),
      ...(jkt !== undefined ? { jkt } : {}),
    });
  }

  /**
   * The scope of a refresh: the family's granted scope (every scope the roles allow for a family
   * from before scopes were recorded), less what the user's roles no longer allow; `requested`
   * may narrow it for this token (RFC 6749 §6), never widen it.
   */
  #refreshScope(familyScope: string | null, user: User, requested: unknown): string[] {
    const allowed = allowedScopes(this.#o.roleScopes, user.roles);
    const family =
      familyScope === null || allowed === undefined
        ? allowed
        : familyScope.split(' ').filter((s) => s !== '' && allowed.includes(s));
    return grantScope(requested === undefined ? undefined : parseScope(requested), family);
  }

  #tokens(
    access: string,
    refresh: string,
    expiresAt: number,
    now: number,
    scope: readonly string[],
    jkt: string | undefined,
  ): TokenSet {
    return {
      access_token: access,
      token_type: jkt === undefined ? 'Bearer' : 'DPoP',
      expires_in: this.#o.accessTtl,
      refresh_token: refresh,
      refresh_expires_in: Math.max(0, Math.floor((expiresAt - now) / 1000)),
      ...(this.#o.roleScopes ? { scope: scopeText(scope) } : {}),
    };
  }

  /**
   * Exchanges a refresh token for a new pair and spends it (rotation). A spent token presented
   * again after the grace window means it was copied: the whole family is revoked.
   */
  async refresh(token: unknown, grant: GrantInput = {}): Promise<TokenSet> {
    const invalid = (why: string) => new AuthServiceError('invalid_grant', why);
    if (typeof token !== 'string' || !REFRESH_TOKEN.test(token)) {
      throw invalid(
        typeof token === 'string' && token.split('.').length === 3
          ? 'that is an access token; send the refresh token'
          : 'the refresh token is not valid',
      );
    }
    const { store } = this.#o;
    const hash = sha256(token);
    // The token and its owner, in one read when the store can (one round trip on PostgreSQL).
    const found = store.findRefreshTokenWithUser
      ? await store.findRefreshTokenWithUser(hash)
      : await store
          .findRefreshToken(hash)
          .then(async (token) =>
            token ? { token, user: await store.findUserById(token.userId) } : null,
          );
    const now = this.#o.now();
    if (!found) throw invalid('the refresh token is not valid');
    const { token: record, user } = found;
    if (record.revokedAt !== null) throw endedSession(record, user);
    if (record.expiresAt <= now) throw invalid('the session has expired; log in again');
    if (!user || user.disabled) {
      await store.revokeFamily(record.familyId, now, 'disabled');
      await this.#announce([record.familyId], now);
      throw invalid(
        user ? 'the account is disabled' : 'the session is no longer valid; log in again',
      );
    }
    // RFC 9449 §5: a family bound at log-in is refreshed only with a proof by its key. Checked
    // before anything is spent: a thief holding the token without the key burns nothing, and the
    // family is not revoked (that would let anyone who saw a token end the owner's session).
    if (record.jkt !== null && grant.jkt !== record.jkt) {
      throw grant.jkt === undefined
        ? new AuthServiceError(
            'invalid_dpop_proof',
            'this session is bound to a DPoP key: send a DPoP proof made with it',
          )
        : invalid('the refresh token is bound to another DPoP key than the proof');
    }
    // The access token first: a refusal (a scope not granted, a failing claims function) spends
    // nothing, so the client can try again with the same refresh token.
    const scope = this.#refreshScope(record.scope, user, grant.scope);
    // The family's amr and log-in time; families from before they were recorded have none, and
    // their tokens then say nothing of them (a rotation's time is no log-in time: it would make
    // the session look fresher than it is to a max_age check).
    const access = await this.#access(
      user,
      record.familyId,
      scope,
      grant.request,
      {
        createdAt: record.createdAt,
        ...(record.amr !== undefined ? { amr: record.amr } : {}),
        ...(record.authTime !== null ? { authTime: record.authTime } : {}),
      },
      grant.jkt,
    );
    const secret = this.#secret;
    const next = successorToken(secret, token);
    const successor: NewRefreshToken = {
      tokenHash: sha256(next),
      familyId: record.familyId,
      userId: record.userId,
      createdAt: now,
      expiresAt: record.expiresAt,
    };
    const result = await store.rotateRefreshToken(hash, successor, now);
    switch (result.status) {
      case 'rotated':
        return this.#tokens(access, next, record.expiresAt, now, scope, grant.jkt);
      case 'spent':
        return this.#raced(result.token, token, user, secret, now, access, scope, grant.jkt);
      case 'revoked':
        throw endedSession(result.token, user);
      case 'expired':
        throw invalid('the session has expired; log in again');
      case 'missing':
        throw invalid('the refresh token is not valid');
    }
  }

  /**
   * A token spent already. Within the grace window (racing tabs) the request gets the live token
   * of the family: the spent token's successor, which the rotation stored and this request derives
   * again (the same for every racer, so the family never forks), or, if that one was rotated too
   * within the window, its successor, and so on. After the window it is reuse: the family is
   * revoked.
   */
  async #raced(
    spent: RefreshToken,
    token: string,
    user: User,
    secret: Buffer,
    now: number,
    access: string,
    scope: readonly string[],
    jkt: string | undefined,
  ): Promise<TokenSet> {
    const grace = this.#o.reuseGrace * 1000;
    let current = spent;
    let presented = token;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      // Measured now, after the rotation (a racer may have read the clock after this request
      // did); with the grace window off, a spent token is always reuse.
      if (!(grace > 0 && this.#o.now() - (current.usedAt ?? 0) <= grace)) break;
      const next = successorToken(secret, presented);
      // Rotated with another secret (by an instance on another key-encryption key, around a
      // `laissez keys rewrap`): the live token cannot be named, but nothing shows a theft either.
      // The racer is refused without revoking the family; the request that rotated keeps it.
      if (current.replacedBy !== sha256(next)) {
        throw new AuthServiceError(
          'invalid_grant',
          'the refresh token was just used by another request; log in again',
        );
      }
      const successor = await this.#o.store.findRefreshToken(sha256(next));
      if (!successor) throw new AuthServiceError('invalid_grant', 'the refresh token is not valid');
      const refused = unrotatable(successor, now);
      if (refused === undefined) {
        return this.#tokens(access, next, successor.expiresAt, now, scope, jkt);
      }
      if (refused.status === 'revoked') throw endedSession(successor, user);
      if (refused.status === 'expired') {
        throw new AuthServiceError('invalid_grant', 'the session has expired; log in again');
      }
      current = successor;
      presented = next;
    }
    await this.#o.store.revokeFamily(spent.familyId, now, 'reuse');
    await this.#announce([spent.familyId], now);
    await this.#o.audit?.record({
      type: 'refresh.reuse_detected',
      actor: 'anonymous',
      subject: spent.userId,
      details: { sid: spent.familyId },
    });
    throw new AuthServiceError(
      'invalid_grant',
      'the refresh token was already used; the session was revoked for safety; log in again',
    );
  }

  /** Revokes the refresh token's family. Idempotent; says nothing about unknown tokens. */
  async logout(token: unknown, ip?: string): Promise<void> {
    if (typeof token !== 'string' || !REFRESH_TOKEN.test(token)) return;
    const record = await this.#o.store.findRefreshToken(sha256(token));
    if (!record) return;
    const now = this.#o.now();
    const ended = await this.#o.store.revokeFamily(record.familyId, now, 'logout');
    await this.#announce([record.familyId], now);
    // Once per session: a repeated log-out (idempotent) records nothing more.
    if (ended > 0) {
      await this.#o.audit?.record({
        type: 'session.ended',
        actor: record.userId,
        subject: record.userId,
        ip: ip ?? null,
        details: { sid: record.familyId },
      });
    }
  }

  /**
   * Revokes every refresh-token family of the user, recording `reason` (log out everywhere, or
   * an administrator's `disabled`), and announces the sessions.
   */
  async logoutAll(userId: string, reason: RevocationReason = 'logout_all'): Promise<number> {
    const now = this.#o.now();
    const sessions = this.#o.revocations ? await this.#o.store.listLiveFamilies(userId, now) : [];
    const revoked = await this.#o.store.revokeUserTokens(userId, now, reason);
    await this.#announce(sessions, now);
    return revoked;
  }

  /** The user's live sessions, most recently used first. */
  list(userId: string): Promise<Session[]> {
    return this.#o.store.listSessions(userId, this.#o.now());
  }

  /**
   * Ends one live session of the user and announces it. False for an unknown, ended or expired
   * session, or another user's: the store revokes only a family of `userId`.
   */
  async end(userId: string, sid: string): Promise<boolean> {
    const now = this.#o.now();
    if (!(await this.#o.store.revokeSession(userId, sid, now, 'logout'))) return false;
    await this.#announce([sid], now);
    return true;
  }

  /** Ends every live session of the user but `keep` (a password change), announcing each. */
  async endOthers(userId: string, keep: string | undefined, reason: RevocationReason) {
    const now = this.#o.now();
    const ended: string[] = [];
    for (const sid of await this.#o.store.listLiveFamilies(userId, now)) {
      if (sid === keep) continue;
      if (await this.#o.store.revokeSession(userId, sid, now, reason)) ended.push(sid);
    }
    await this.#announce(ended, now);
    return ended.length;
  }

  /** Announces sessions that ended without a revocation (their user was deleted). */
  announceEnded(sessions: readonly string[]): Promise<void> {
    return this.#announce(sessions, this.#o.now());
  }

  /**
   * Tells the revocation list (if any) that these sessions ended: their access tokens, issued
   * until now, live at most accessTtl more seconds. A failure is reported, not thrown: the
   * refresh tokens are revoked in the database whatever happens here.
   */
  async #announce(sessions: readonly string[], now: number): Promise<void> {
    const list = this.#o.revocations;
    if (!list || sessions.length === 0) return;
    // A verifier with clock tolerance accepts a token a little past its exp; a minute covers that
    // and the clocks of this server and Redis differing.
    const until = now + this.#o.accessTtl * 1000 + 60_000;
    const results = await Promise.allSettled(sessions.map((sid) => list.revoke(sid, until)));
    for (const r of results) if (r.status === 'rejected') this.#o.onRevocationError(r.reason);
  }
}
