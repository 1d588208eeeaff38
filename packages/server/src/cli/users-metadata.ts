// `laissez users set-metadata <user> --metadata '{…}'`: an administrator sets a user's app
// metadata, the per-user JSON the claims function reads (docs/tokens.md, "Custom claims"), with
// the same checks as `PUT /admin/users/{id}/app-metadata`.
import { APP_METADATA_MAX_BYTES, setAppMetadata } from '../auth/app-metadata.ts';
import { AuthServiceError } from '../auth/errors.ts';
import { toPublicUser } from '../auth/service.ts';
import { DATA_DIR_HELP, parseStoreCommandLine, withStore } from './data.ts';
import { findUser, userOperand } from './find-user.ts';
import { type Command, EXIT, UsageError, writeErr, writeJson, writeOut } from './io.ts';
import { recordCli } from './record.ts';

export const SET_METADATA: Command = {
  summary: "replace a user's app metadata (JSON the claims function reads)",
  help: `Usage: laissez users set-metadata <id | username | email> --metadata JSON [--json]

Replaces the user's app metadata: a JSON object of at most ${APP_METADATA_MAX_BYTES} bytes, replaced
whole ('{}' clears it). The claims function of the server reads it as user.app_metadata at the
next log-in or refresh; tokens issued before keep what they carry until they expire. Users can
never set their own.

Options:
  --metadata JSON     the new metadata, a JSON object
${DATA_DIR_HELP}
  --json              print the user with its metadata as JSON
  -h, --help

Exit codes: 0 set, 1 no such user or refused (not an object, too big), 2 usage error.

Examples:
  laissez users set-metadata odin --metadata '{"tenant":"acme","plan":"pro"}'
  laissez users set-metadata odin@example.com --metadata '{}'`,
  async run(args, context) {
    const { values, positionals } = parseStoreCommandLine(args, {
      metadata: { type: 'string' },
    });
    const who = userOperand(positionals);
    if (values.metadata === undefined) throw new UsageError("missing --metadata '{…}'");
    let metadata: unknown;
    try {
      metadata = JSON.parse(values.metadata);
    } catch {
      throw new UsageError('--metadata must be JSON, e.g. \'{"tenant":"acme"}\'');
    }
    return withStore(values['data-dir'], context, async (store) => {
      const user = await findUser(store, who);
      try {
        await setAppMetadata(store, user.id, metadata, context.io.now());
      } catch (error) {
        if (!(error instanceof AuthServiceError)) throw error;
        writeErr(context.io, `${context.name}: ${error.code}: ${error.message}`);
        return EXIT.REJECTED;
      }
      // Its size, never its content, as the admin API records it.
      await recordCli(store, context, {
        type: 'admin.app_metadata_set',
        subject: user.id,
        details: { bytes: Buffer.byteLength(JSON.stringify(metadata)) },
      });
      const updated = (await store.findUserById(user.id)) ?? user;
      if (values.json) {
        writeJson(context.io, { ...toPublicUser(updated), app_metadata: updated.appMetadata });
      } else {
        writeOut(context.io, `set the app metadata of ${updated.username} (id ${updated.id})`);
      }
      return EXIT.OK;
    });
  },
};
