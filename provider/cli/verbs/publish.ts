import * as path from "node:path";
import { Keyring, loadPrivateKey } from "../../apk/keys";
import { publishPackages } from "../../repository/publish";
import { DistrolessError } from "../../util/errors";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  output,
  parseVerbArgs,
  passphraseFlag,
  stringFlag,
  stringsFlag,
  type Verb,
} from "../command";

const FLAGS = {
  "signing-key": { type: "string", value: "KEY", help: "RSA private key that signs the index (required)" },
  "passphrase-env": {
    type: "string",
    value: "VAR",
    help: "environment variable holding the key's passphrase",
  },
  "trusted-key": { type: "string", multiple: true, value: "PUB", help: "also index apks signed by this key" },
  prune: { type: "boolean", help: "drop every apk not given" },
  description: { type: "string", value: "TEXT", help: "the index's DESCRIPTION" },
  json: { type: "boolean", help: "print the result as JSON" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "add apks to a local repository and re-sign its index",
  usage:
    "pulumi-distroless publish REPO_DIR APK... --signing-key KEY [--passphrase-env VAR] [--trusted-key PUB]... [--prune] [--description TEXT] [--json]",
  flags: FLAGS,
  example: "pulumi-distroless publish ./repo packages/x86_64/*.apk --signing-key melange.rsa",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("publish", ctx.argv, FLAGS);
    const [repo, ...apks] = args.positionals;
    if (!repo) throw new DistrolessError("E_CONFIG", "publish needs REPO_DIR and APK files");
    if (apks.length === 0 && !boolFlag(args, "prune")) {
      throw new DistrolessError(
        "E_CONFIG",
        "publish needs at least one APK (or --prune to empty the repository)",
      );
    }
    const keyFile = stringFlag(args, "signing-key");
    if (!keyFile)
      throw new DistrolessError("E_CONFIG", "publish needs --signing-key KEY (the index is always signed)");
    const signingKey = await loadPrivateKey(path.resolve(ctx.cwd, keyFile), passphraseFlag(args, ctx.env));
    const description = stringFlag(args, "description");
    // Packages must be signed by the signing key's public half or one of these to be indexed.
    const trustedFiles = stringsFlag(args, "trusted-key").map((f) => path.resolve(ctx.cwd, f));
    const result = await publishPackages({
      root: path.resolve(ctx.cwd, repo),
      packages: apks.map((a) => path.resolve(ctx.cwd, a)),
      signingKey,
      prune: boolFlag(args, "prune"),
      progress: ctx.progress,
      ...(trustedFiles.length ? { trustedKeys: await Keyring.fromPaths(trustedFiles) } : {}),
      ...(description !== undefined ? { description } : {}),
    });
    output(ctx, boolFlag(args, "json"), result, () =>
      result.archs
        .map(
          (a) =>
            `${path.join(repo, a.arch, "APKINDEX.tar.gz")} ${a.indexDigest} (${a.packages.length} packages, signed by ${result.keyName})` +
            a.refused.map((r) => `\n  refused ${a.arch}/${r.file}: ${r.reason}`).join(""),
        )
        .join("\n"),
    );
    return 0;
  },
};
