// The settings table's first rows (settings.ts): where the server listens, which is the command
// line's own (the library leaves that to `app.listen`), and where it keeps its data and the key
// that encrypts its signing keys.
import { httpUrl, keyEncryptionKeyText, kind, port, text } from './setting-rules.ts';
import type { Setting } from './settings.ts';

export const STORAGE_SETTINGS: readonly Setting[] = [
  {
    option: 'port',
    flag: 'port',
    env: 'PORT',
    default: '3000',
    help: 'TCP port (0 picks a free one)',
    parse: port,
  },
  {
    option: 'host',
    flag: 'host',
    env: 'HOST',
    default: '127.0.0.1',
    help: 'address to listen on (0.0.0.0 for every interface)',
    parse: (t) => t,
  },
  {
    option: 'dataDir',
    flag: 'data-dir',
    env: 'LAISSEZ_DATA_DIR',
    default: './data',
    help: 'where the embedded SQLite database lives',
    parse: (t) => t,
    check: kind('string'),
  },
  {
    option: 'redisUrl',
    flag: 'redis-url',
    env: 'REDIS_URL',
    default: '',
    secret: true,
    help: 'redis://host:6379: shared rate limits and the session revocation list',
    parse: text,
    check: httpUrl(/^rediss?:$/, 'a redis:// (or rediss://) URL, e.g. redis://127.0.0.1:6379'),
  },
  {
    option: 'databaseUrl',
    flag: 'database-url',
    env: 'DATABASE_URL',
    default: '',
    secret: true,
    help: 'postgres://user:password@host:5432/db: use PostgreSQL instead of SQLite',
    parse: text,
    check: httpUrl(
      /^postgres(ql)?:$/,
      'a postgres:// URL, e.g. postgres://laissez@127.0.0.1:5432/laissez',
    ),
  },
  {
    option: 'keyEncryptionKeyFile',
    flag: 'key-encryption-key-file',
    env: 'LAISSEZ_KEY_ENCRYPTION_KEY_FILE',
    default: '<data-dir>/laissez.kek',
    derived: true,
    help: 'the key that encrypts the signing keys (SQLite: made on first start; PostgreSQL: needed, or LAISSEZ_KEY_ENCRYPTION_KEY)',
    parse: text,
    check: kind('string'),
  },
  {
    // The key itself only from the environment: a command line is visible to every user (ps).
    option: 'keyEncryptionKey',
    env: 'LAISSEZ_KEY_ENCRYPTION_KEY',
    default: '',
    secret: true,
    help: 'the key-encryption key itself (base64url of 32 bytes), instead of the file; environment only, never a flag',
    parse: keyEncryptionKeyText,
    check: kind('key'),
  },
];
