// How passkey and WebAuthn-challenge rows read, shared by the SQLite and PostgreSQL stores (each
// passes its own column readers, as for the other records in rows.ts).
import type { ColumnReaders } from './rows.ts';
import type { Passkey, WebAuthnCeremony, WebAuthnChallenge } from './types.ts';

type Row = Readonly<Record<string, unknown>>;

export function passkeyMappers(read: ColumnReaders) {
  return {
    toPasskey: (row: Row): Passkey => ({
      id: String(row['id']),
      userId: String(row['user_id']),
      publicKey: String(row['public_key']),
      signCount: read.num(row['sign_count']),
      transports: read.roles(row['transports']),
      name: String(row['name']),
      backupEligible: read.flag(row['backup_eligible']),
      backedUp: read.flag(row['backed_up']),
      createdAt: read.num(row['created_at']),
      lastUsedAt:
        row['last_used_at'] === null || row['last_used_at'] === undefined
          ? null
          : read.num(row['last_used_at']),
    }),
    toWebAuthnChallenge: (row: Row): WebAuthnChallenge => ({
      challengeHash: String(row['challenge_hash']),
      ceremony: String(row['ceremony']) as WebAuthnCeremony,
      userId:
        row['user_id'] === null || row['user_id'] === undefined ? null : String(row['user_id']),
      createdAt: read.num(row['created_at']),
      expiresAt: read.num(row['expires_at']),
    }),
  };
}
