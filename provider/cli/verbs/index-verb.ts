import * as path from "node:path";
import { readApkHead } from "../../apk/apk-reader";
import { writeIndexArchive } from "../../apk/index-archive";
import { indexEntryFromApk } from "../../apk/index-entry";
import { sortIndexEntries } from "../../apk/index-text";
import { loadPrivateKey } from "../../apk/keys";
import { compareVersions } from "../../apk/version";
import { DistrolessError } from "../../util/errors";
import { writeFileAtomic } from "../../util/fs";
import { ociDigest } from "../../util/hash";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  output,
  parseVerbArgs,
  passphraseFlag,
  stringFlag,
  type Verb,
} from "../command";

const FLAGS = {
  output: { type: "string", short: "o", value: "APKINDEX.tar.gz", help: "the index file to write" },
  "signing-key": { type: "string", value: "KEY", help: "RSA private key that signs the index" },
  "passphrase-env": {
    type: "string",
    value: "VAR",
    help: "environment variable holding the key's passphrase",
  },
  description: { type: "string", value: "TEXT", help: "the index's DESCRIPTION" },
  json: { type: "boolean", help: "print the result as JSON" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "write an APKINDEX.tar.gz for apk files, optionally signed",
  usage:
    "pulumi-distroless index APK... -o APKINDEX.tar.gz [--signing-key KEY] [--passphrase-env VAR] [--description TEXT] [--json]",
  flags: FLAGS,
  example:
    "pulumi-distroless index packages/x86_64/*.apk -o packages/x86_64/APKINDEX.tar.gz --signing-key melange.rsa",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("index", ctx.argv, FLAGS);
    const out = stringFlag(args, "output");
    if (!out) throw new DistrolessError("E_CONFIG", "index needs -o APKINDEX.tar.gz");
    if (args.positionals.length === 0) throw new DistrolessError("E_CONFIG", "index needs at least one APK");
    const keyFile = stringFlag(args, "signing-key");
    const signingKey = keyFile
      ? await loadPrivateKey(path.resolve(ctx.cwd, keyFile), passphraseFlag(args, ctx.env))
      : undefined;
    const entries = [];
    for (const apk of args.positionals)
      entries.push(indexEntryFromApk(await readApkHead(path.resolve(ctx.cwd, apk))));
    const sorted = sortIndexEntries(entries, compareVersions);
    const seen = new Set<string>();
    for (const e of sorted) {
      const key = `${e.name}-${e.version}-${e.arch}`;
      if (seen.has(key)) throw new DistrolessError("E_CONFIG", `${key} is given twice`);
      seen.add(key);
    }
    const data = writeIndexArchive(sorted, {
      ...(stringFlag(args, "description") !== undefined
        ? { description: stringFlag(args, "description") }
        : {}),
      ...(signingKey ? { signingKey } : {}),
    });
    const target = path.resolve(ctx.cwd, out);
    await writeFileAtomic(target, data);
    const result = {
      output: out,
      packages: sorted.length,
      signedBy: signingKey?.keyName ?? null,
      digest: ociDigest(data),
    };
    output(
      ctx,
      boolFlag(args, "json"),
      result,
      () =>
        `wrote ${out}: ${sorted.length} packages, ${signingKey ? `signed by ${signingKey.keyName}` : "unsigned"}`,
    );
    return 0;
  },
};
