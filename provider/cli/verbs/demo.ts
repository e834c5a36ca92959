import * as path from "node:path";
import { readApkHead, verifyApkFile } from "../../apk/apk-reader";
import { readIndexArchive, writeIndexArchive } from "../../apk/index-archive";
import { indexEntryFromApk } from "../../apk/index-entry";
import { generateSigningKey, Keyring, loadPrivateKey, writeKeyPair } from "../../apk/keys";
import { DistrolessError } from "../../util/errors";
import { pathExists, readFileCapped, writeFileAtomic } from "../../util/fs";
import { type CliContext, parseVerbArgs, stringFlag, type Verb } from "../command";

/**
 * The offline demo on the bundled fixtures: verify melange's repository, re-index and re-sign it with
 * a key of our own, and verify the result. A second run reuses the key and finds nothing to change.
 */
export const verb: Verb = {
  summary: "run the offline demo on the bundled fixtures",
  usage: "pulumi-distroless demo [--work DIR] [--fixtures DIR]",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("demo", ctx.argv, { work: { type: "string" }, fixtures: { type: "string" } });
    const work = path.resolve(ctx.cwd, stringFlag(args, "work") ?? ".cache/demo");
    const fixtures = path.resolve(ctx.cwd, stringFlag(args, "fixtures") ?? "../shared/fixtures");
    const repo = path.join(fixtures, "local-repo", "x86_64");
    if (!(await pathExists(repo))) {
      throw new DistrolessError("E_MISSING", "the demo needs ../shared/fixtures beside the project", {
        subject: fixtures,
      });
    }
    const say = (m: string) => ctx.stdout(`${m}\n`);
    const melangeKeys = await Keyring.fromPaths([path.join(fixtures, "local-repo", "melange.rsa.pub")]);
    const idx = await readIndexArchive(await readFileCapped(path.join(repo, "APKINDEX.tar.gz"), 64 << 20), {
      keyring: melangeKeys,
      subject: path.join(repo, "APKINDEX.tar.gz"),
    });
    say(`1. melange's index verifies (signed by ${idx.verifiedBy?.keyName}); ${idx.entries.length} packages`);
    for (const e of idx.entries) {
      const file = path.join(repo, `${e.name}-${e.version}.apk`);
      const { data } = await verifyApkFile(file, { expectedChecksum: e.checksum, keyring: melangeKeys });
      say(`   ${e.name}-${e.version}: C: ${e.checksum} matches, datahash ok, ${data.files} files' SHA-1 ok`);
    }
    const keyFile = path.join(work, "demo.rsa");
    if (!(await pathExists(keyFile))) {
      await writeKeyPair(work, "demo.rsa", await generateSigningKey());
      say(`2. generated a signing key: ${keyFile}`);
    } else say(`2. reusing the signing key ${keyFile}`);
    const key = await loadPrivateKey(keyFile);
    const entries = [];
    for (const e of idx.entries)
      entries.push(indexEntryFromApk(await readApkHead(path.join(repo, `${e.name}-${e.version}.apk`))));
    const out = path.join(work, "x86_64", "APKINDEX.tar.gz");
    const data = writeIndexArchive(entries, { signingKey: key });
    const previous = (await pathExists(out)) ? await readFileCapped(out, 64 << 20) : undefined;
    if (previous?.equals(data)) say(`3. ${out} is up to date (same bytes): nothing rewritten`);
    else {
      await writeFileAtomic(out, data);
      say(`3. wrote ${out}: ${entries.length} packages, signed by ${key.keyName}`);
    }
    const ours = await readIndexArchive(data, {
      keyring: await Keyring.fromPaths([`${keyFile}.pub`]),
      subject: out,
    });
    say(
      `4. our index verifies with ${ours.verifiedBy?.keyName}; APKINDEX text identical to melange's: ${ours.text === idx.text}`,
    );
    return 0;
  },
};
