// A resource server: per-user notes behind the laissez Express middleware. It trusts the auth
// server only through its public JWKS; it holds no secret and never calls the auth server
// otherwise. Notes belong to the token's subject (`sub`), so a user sees only their own.

import { randomUUID } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type Response,
} from 'express';
import { laissez } from 'laissez/express';
import type { Algorithm } from 'laissez/jwt';

export interface NotesAppOptions {
  /** The auth server's issuer (`iss` of its tokens), e.g. `http://localhost:3000`. */
  issuer: string;
  /** Where its public keys are. Default `${issuer}/.well-known/jwks.json`. */
  jwksUri?: string;
  /** Expected `aud`. Default `api`. */
  audience?: string;
  /** Accepted signature algorithms (public-key ones). Default EdDSA, ES256, RS256. */
  algorithms?: Algorithm[];
  /** A SQLite file, or `:memory:`. Default `:memory:`. */
  database?: string;
  /** Milliseconds between JWKS refetches for an unknown kid. Default: the client's (30 s). */
  jwksCooldown?: number;
}

export interface NotesApp {
  app: Express;
  /** Closes the database. */
  close(): void;
}

interface Note {
  id: string;
  text: string;
  created_at: string;
}

export const MAX_NOTE_LENGTH = 10_000;

/** The same shape of error as the middleware's (RFC 6750). */
function sendError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

/** Why a POST /notes body is not a note, or undefined when it is one. */
function invalidNote(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return 'send a JSON object {"text": "..."} with Content-Type: application/json';
  }
  const extra = Object.keys(body).find((key) => key !== 'text');
  if (extra !== undefined)
    return `unknown field "${extra.slice(0, 40)}": a note is {"text": "..."}`;
  const { text } = body as { text?: unknown };
  if (typeof text !== 'string') return '"text" is required and must be a string';
  if (text.trim() === '') return '"text" must not be empty';
  if (text.length > MAX_NOTE_LENGTH) return `"text" is longer than ${MAX_NOTE_LENGTH} characters`;
  return undefined;
}

export function createNotesApp(options: NotesAppOptions): NotesApp {
  const issuer = options.issuer;
  const auth = laissez({
    jwksUri: options.jwksUri ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`,
    algorithms: options.algorithms ?? ['EdDSA', 'ES256', 'RS256'],
    issuer,
    audience: options.audience ?? 'api',
    ...(options.jwksCooldown !== undefined
      ? { jwksOptions: { cooldown: options.jwksCooldown } }
      : {}),
  });

  const db = new DatabaseSync(options.database ?? ':memory:');
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE IF NOT EXISTS notes (
      id         TEXT PRIMARY KEY,
      owner      TEXT NOT NULL,
      text       TEXT NOT NULL,
      created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS notes_by_owner ON notes (owner, created_at);
  `);
  const sql = {
    list: db.prepare(
      'SELECT id, text, created_at FROM notes WHERE owner = ? ORDER BY created_at, rowid',
    ),
    get: db.prepare('SELECT id, text, created_at FROM notes WHERE id = ? AND owner = ?'),
    insert: db.prepare('INSERT INTO notes (id, owner, text, created_at) VALUES (?, ?, ?, ?)'),
    remove: db.prepare('DELETE FROM notes WHERE id = ? AND owner = ?'),
    stats: db.prepare('SELECT COUNT(DISTINCT owner) AS owners, COUNT(*) AS notes FROM notes'),
  };

  /** The verified caller: set by the middleware, which runs before every handler that asks. */
  const owner = (req: Request): string => req.auth!.subject;
  const notFound = (res: Response) => sendError(res, 404, 'not_found', 'no such note');

  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Notes are private: no cache on the way may keep a copy.
  app.use('/notes', (_req, res, next) => {
    res.set('cache-control', 'no-store');
    next();
  });

  app.get('/notes', auth, (req, res) => {
    res.json({ notes: sql.list.all(owner(req)) as unknown as Note[] });
  });

  // The token is checked before the body is read; the limit leaves room for JSON escapes.
  app.post('/notes', auth, express.json({ limit: '64kb' }), (req, res) => {
    const problem = invalidNote(req.body);
    if (problem !== undefined) return sendError(res, 400, 'invalid_request', problem);
    const note: Note = {
      id: randomUUID(),
      text: (req.body as { text: string }).text,
      created_at: new Date().toISOString(),
    };
    sql.insert.run(note.id, owner(req), note.text, note.created_at);
    res.status(201).location(`/notes/${note.id}`).json({ note });
  });

  // Another user's note is "no such note" (404), not 403: ids say nothing about other users.
  app.get('/notes/:id', auth, (req, res) => {
    const note = sql.get.get(req.params.id as string, owner(req)) as Note | undefined;
    if (note === undefined) return notFound(res);
    res.json({ note });
  });

  app.delete('/notes/:id', auth, (req, res) => {
    const { changes } = sql.remove.run(req.params.id as string, owner(req));
    if (changes === 0) return notFound(res);
    res.status(204).end();
  });

  // Only tokens whose "scope" holds notes:stats; others get 403 insufficient_scope. The auth
  // server grants it to admins' log-ins (LAISSEZ_ROLE_SCOPES='admin=notes:stats') and to the
  // clients registered with it (a reporting service's client-credentials token, no user).
  app.get('/admin/stats', auth.require({ scopes: ['notes:stats'] }), (_req, res) => {
    res.json(sql.stats.get());
  });

  app.use((_req, res) => {
    sendError(res, 404, 'not_found', 'no such route');
  });

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const { type, status } = error as { type?: string; status?: number };
    if (type === 'entity.too.large') {
      return sendError(res, 413, 'invalid_request', 'the body is larger than 64 KiB');
    }
    if (type === 'entity.parse.failed') {
      return sendError(res, 400, 'invalid_request', 'the body is not valid JSON');
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, status, 'invalid_request', 'the request cannot be read');
    }
    console.error('notes-api:', error);
    sendError(res, 500, 'server_error', 'something went wrong; try again');
  };
  app.use(onError);

  return { app, close: () => db.close() };
}
