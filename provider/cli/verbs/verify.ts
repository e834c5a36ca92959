import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { verifyApkFile } from "../../apk/apk-reader";
import { readIndexArchive } from "../../apk/index-archive";
import { Keyring } from "../../apk/keys";
import { DistrolessError, errorMessage } from "../../util/errors";
import { readFileCapped } from "../../util/fs";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  output,
  parseVerbArgs,
  stringsFlag,
  type Verb,
} from "../command";
import { artifactKind } from "./artifact-kind";

interface Result {
  file: string;
  kind: "apk" | "index";
  ok: boolean;
  keyName?: string;
  algorithm?: string;
  packages?: number;
  error?: string;
}

const FLAGS = {
  "keys-dir": { type: "string", multiple: true, value: "DIR", help: "directory of trusted public keys" },
  key: { type: "string", multiple: true, value: "PUB", help: "a trusted public key file" },
  json: { type: "boolean", help: "print the result as JSON" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "verify signatures and checksums of apks and APKINDEX.tar.gz files",
  usage: "pulumi-distroless verify FILE... --keys-dir DIR [--key FILE]... [--json]",
  flags: FLAGS,
  example: "pulumi-distroless verify packages/x86_64/*.apk --key melange.rsa.pub",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("verify", ctx.argv, FLAGS);
    const keyPaths = [...stringsFlag(args, "keys-dir"), ...stringsFlag(args, "key")].map((p) =>
      path.resolve(ctx.cwd, p),
    );
    if (args.positionals.length === 0)
      throw new DistrolessError("E_CONFIG", "verify needs at least one FILE");
    if (keyPaths.length === 0)
      throw new DistrolessError("E_CONFIG", "verify needs trusted keys: --keys-dir DIR or --key FILE");
    const keyring = await Keyring.fromPaths(keyPaths);
    const results: Result[] = [];
    for (const arg of args.positionals) {
      const file = path.resolve(ctx.cwd, arg);
      let kind: Result["kind"] = "apk";
      try {
        kind = await artifactKind(file);
        if (kind === "apk") {
          const { signedBy } = await verifyApkFile(file, { keyring });
          results.push({
            file: arg,
            kind,
            ok: true,
            keyName: signedBy!.keyName,
            algorithm: signedBy!.algorithm,
          });
        } else {
          await fsp.access(file);
          const idx = await readIndexArchive(await readFileCapped(file, 512 << 20), {
            keyring,
            subject: file,
          });
          results.push({
            file: arg,
            kind,
            ok: true,
            keyName: idx.verifiedBy!.keyName,
            algorithm: idx.verifiedBy!.algorithm,
            packages: idx.entries.length,
          });
        }
      } catch (err) {
        results.push({ file: arg, kind, ok: false, error: errorMessage(err) });
      }
    }
    const failed = results.filter((r) => !r.ok);
    output(ctx, boolFlag(args, "json"), { ok: failed.length === 0, results }, () =>
      results
        .map((r) =>
          r.ok
            ? `OK   ${r.file} (${r.kind}${r.packages !== undefined ? `, ${r.packages} packages` : ""}; signed by ${r.keyName}, RSA-${r.algorithm?.toUpperCase()})`
            : `FAIL ${r.error}`,
        )
        .join("\n"),
    );
    return failed.length === 0 ? 0 : 1;
  },
};
