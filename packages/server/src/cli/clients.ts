// `laissez clients add|list|remove|rotate-secret`: the OAuth clients of the auth server (services
// that get tokens of their own at POST /oauth/token). A secret is printed once, when it is made;
// the database keeps only its SHA-256.
import { readFileSync } from 'node:fs';
import { registerClient, rotateClientSecret } from '../auth/clients.ts';
import { AuthServiceError } from '../auth/errors.ts';
import type { Client, ClientAuthMethod } from '../store/types.ts';
import { DATA_DIR_HELP, parseStoreCommandLine, STORE_FLAGS_HELP, withStore } from './data.ts';
import {
  type Command,
  CommandFailed,
  type CommandGroup,
  EXIT,
  expectPositionals,
  listFlag,
  oneOperand,
  UsageError,
  writeJson,
  writeOut,
} from './io.ts';

/** The client as shown: never its secret hash. */
const shown = (c: Client) => ({
  id: c.id,
  name: c.name,
  scopes: [...c.scopes],
  grant_types: [...c.grantTypes],
  auth_method: c.authMethod,
  ...(c.jwksUri !== null ? { jwks_uri: c.jwksUri } : {}),
  ...(c.jwks !== null ? { jwks: 'inline' } : {}),
  created_at: new Date(c.createdAt).toISOString(),
  secret_rotated_at: c.secretRotatedAt === null ? null : new Date(c.secretRotatedAt).toISOString(),
});

/** The client id a subcommand names; an empty one is for the store to refuse. */
function clientOperand(positionals: string[], subcommand: string): string {
  return oneOperand(
    positionals,
    'one client id',
    `give the client id: laissez clients ${subcommand} <id>`,
  );
}

/** A domain refusal (a bad id, scope, key set) as a usage error with its reason. */
function usage(error: unknown): never {
  if (error instanceof AuthServiceError && error.code === 'invalid_request') {
    throw new UsageError(error.message);
  }
  throw error;
}

const add: Command = {
  summary: 'register a client; its secret is printed once',
  help: `Usage: laissez clients add <client-id> [--name TEXT] [--scopes a,b] [--grant-types client_credentials]
                           [--auth-method client_secret_basic|client_secret_post|private_key_jwt]
                           [--jwks FILE | --jwks-uri URL] [--json]

Registers an OAuth client: a service that gets access tokens of its own (sub and client_id its id)
at POST /oauth/token with grant_type=client_credentials. The id is 1 to 64 letters, digits, ".",
"_", "~" or "-". With a secret method (the default, client_secret_basic), the secret is printed
once: store it now, only its hash is kept. With private_key_jwt the client signs assertions with
its own key: give its public keys as a JWK Set file (--jwks) or an https URL (--jwks-uri).
Do not use the server's --first-party-client-id as an id: the server gives it no token.

Options:
  --name TEXT          a name for people (default: the id)
  --scopes a,b         the scopes it may ask for (default: none)
  --grant-types LIST   default client_credentials
  --auth-method M      default client_secret_basic
  --jwks FILE          private_key_jwt: its public JWK Set
  --jwks-uri URL       private_key_jwt: where its JWK Set is served (https; http on loopback)
${DATA_DIR_HELP}
  --json               print {"client", "client_secret"}
  -h, --help

Exit codes: 0 registered, 2 usage error (a bad or taken id, a bad scope or key set).`,
  async run(args, context) {
    const { values, positionals } = parseStoreCommandLine(args, {
      name: { type: 'string' },
      scopes: { type: 'string' },
      'grant-types': { type: 'string' },
      'auth-method': { type: 'string' },
      jwks: { type: 'string' },
      'jwks-uri': { type: 'string' },
    });
    const id = clientOperand(positionals, 'add');
    let jwks: string | undefined;
    if (values.jwks !== undefined) {
      try {
        jwks = readFileSync(values.jwks, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read --jwks ${values.jwks}: ${(error as Error).message}`);
      }
    }
    return withStore(values['data-dir'], context, async (store) => {
      const { client, secret } = await registerClient(
        store,
        {
          id,
          ...(values.name !== undefined ? { name: values.name } : {}),
          ...(values.scopes !== undefined ? { scopes: listFlag(values.scopes, '--scopes') } : {}),
          ...(values['grant-types'] !== undefined
            ? { grantTypes: listFlag(values['grant-types'], '--grant-types') }
            : {}),
          ...(values['auth-method'] !== undefined
            ? { authMethod: values['auth-method'] as ClientAuthMethod }
            : {}),
          ...(jwks !== undefined ? { jwks } : {}),
          ...(values['jwks-uri'] !== undefined ? { jwksUri: values['jwks-uri'] } : {}),
        },
        context.io.now(),
      ).catch(usage);
      if (values.json) {
        writeJson(context.io, { client: shown(client), client_secret: secret });
      } else {
        writeOut(context.io, `registered ${client.id} (${client.authMethod})`);
        if (secret !== null) {
          writeOut(context.io, `client secret (shown once, store it now): ${secret}`);
        }
      }
      return EXIT.OK;
    });
  },
};

const list: Command = {
  summary: 'list the clients',
  help: `Usage: laissez clients list [--json]

Lists the registered clients by creation: id, name, scopes, grant types, authentication method.
Secrets and their hashes are never shown.

Options:
${STORE_FLAGS_HELP}

Exit codes: 0 listed, 2 usage error.`,
  async run(args, context) {
    const { values, positionals } = parseStoreCommandLine(args, {});
    expectPositionals(positionals, 0, '');
    return withStore(values['data-dir'], context, async (store) => {
      const clients = (await store.listClients()).map(shown);
      if (values.json) writeJson(context.io, clients);
      else if (clients.length === 0) writeOut(context.io, 'no clients');
      else {
        for (const c of clients) {
          writeOut(
            context.io,
            `${c.id}  ${c.auth_method}  scopes: ${c.scopes.join(' ') || '-'}  grants: ${c.grant_types.join(' ') || '-'}  ${JSON.stringify(c.name)}`,
          );
        }
      }
      return EXIT.OK;
    });
  },
};

const remove: Command = {
  summary: 'remove a client',
  help: `Usage: laissez clients remove <client-id> [--json]

Removes the client: it gets no new token from then on. Access tokens it already holds stay valid
until they expire (--access-ttl), unless they are revoked at POST /oauth/revoke with Redis.

Options:
${STORE_FLAGS_HELP}

Exit codes: 0 removed, 1 no such client, 2 usage error.`,
  async run(args, context) {
    const { values, positionals } = parseStoreCommandLine(args, {});
    const id = clientOperand(positionals, 'remove');
    return withStore(values['data-dir'], context, async (store) => {
      if (!(await store.deleteClient(id))) {
        throw new CommandFailed(`no client with the id ${JSON.stringify(id)}`);
      }
      if (values.json) writeJson(context.io, { id, removed: true });
      else writeOut(context.io, `removed ${id}`);
      return EXIT.OK;
    });
  },
};

const rotateSecret: Command = {
  summary: "replace a client's secret; the new one is printed once",
  help: `Usage: laissez clients rotate-secret <client-id> [--json]

Gives the client a new secret, printed once; the old secret stops working at once (so give the
service the new one first if it must not miss a token). Not for private_key_jwt clients: they
rotate their own keys (their JWK Set).

Options:
${DATA_DIR_HELP}
  --json      print {"id", "client_secret"}
  -h, --help

Exit codes: 0 rotated, 1 no such client, 2 usage error.`,
  async run(args, context) {
    const { values, positionals } = parseStoreCommandLine(args, {});
    const id = clientOperand(positionals, 'rotate-secret');
    return withStore(values['data-dir'], context, async (store) => {
      const secret = await rotateClientSecret(store, id, context.io.now()).catch(usage);
      if (secret === null) throw new CommandFailed(`no client with the id ${JSON.stringify(id)}`);
      if (values.json) writeJson(context.io, { id, client_secret: secret });
      else
        writeOut(context.io, `new client secret for ${id} (shown once, store it now): ${secret}`);
      return EXIT.OK;
    });
  },
};

export const CLIENTS_COMMANDS: CommandGroup = {
  add,
  list,
  remove,
  'rotate-secret': rotateSecret,
};
