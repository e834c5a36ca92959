import * as path from "node:path";
import { readApkHead, scanApkData } from "../../apk/apk-reader";
import { readIndexArchive } from "../../apk/index-archive";
import { printableName } from "../../archive/safe-path";
import { DistrolessError } from "../../util/errors";
import { readFileCapped } from "../../util/fs";
import { newHash } from "../../util/hash";
import { boolFlag, type CliContext, type FlagTable, output, parseVerbArgs, type Verb } from "../command";
import { artifactKind } from "./artifact-kind";

const FLAGS = {
  json: { type: "boolean", help: "print the result as JSON" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "show an apk (PKGINFO, checksums, files) or an index (its packages)",
  usage: "pulumi-distroless inspect FILE [--json]",
  flags: FLAGS,
  example: "pulumi-distroless inspect packages/x86_64/APKINDEX.tar.gz --json",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("inspect", ctx.argv, FLAGS);
    const arg = args.positionals[0];
    if (!arg || args.positionals.length > 1)
      throw new DistrolessError("E_CONFIG", "inspect takes exactly one FILE");
    const file = path.resolve(ctx.cwd, arg);
    const json = boolFlag(args, "json");
    if ((await artifactKind(file)) === "index") {
      const idx = await readIndexArchive(await readFileCapped(file, 512 << 20), {
        allowUntrusted: true,
        subject: file,
      });
      const value = {
        kind: "index",
        description: idx.description,
        signatures: idx.signatures.map((s) => ({ keyName: s.keyName, algorithm: s.algorithm })),
        packages: idx.entries,
      };
      output(ctx, json, value, () =>
        [
          `APKINDEX ${arg}: ${idx.entries.length} packages; signed by ${show(idx.signatures.map((s) => s.keyName).join(", ")) || "nobody"} (not verified; use verify)`,
          ...idx.entries.map(
            (e) => `  ${show(`${e.name}-${e.version} ${e.arch} ${e.checksum}`)} ${e.size} B`,
          ),
        ].join("\n"),
      );
      return 0;
    }
    const head = await readApkHead(file);
    const files: { path: string; type: string; mode: string; size: number; sha1?: string; link?: string }[] =
      [];
    // Bodies are hashed as they stream by, never collected: a 1 GiB file in a 1 MB apk must not
    // cost 1 GiB of memory (verify and build stream the same way).
    const data = await scanApkData(
      head,
      async (entry, body) => {
        let sha1: string | undefined;
        if (entry.header.type === "file") {
          const hash = newHash("sha1");
          for await (const c of body) hash.update(c);
          sha1 = hash.digest("hex");
        }
        files.push({
          path: entry.path,
          type: entry.header.type,
          mode: entry.header.mode.toString(8).padStart(4, "0"),
          size: entry.header.size,
          ...(sha1 !== undefined ? { sha1 } : {}),
          ...(entry.header.linkname ? { link: entry.header.linkname } : {}),
        });
      },
      { enforceDatahash: false },
    );
    const value = {
      kind: "apk",
      pkginfo: head.pkginfo,
      checksum: head.controlChecksum,
      datahash: data.datahash,
      datahashMatches: data.datahashMatches,
      signatures: head.signatures.map((s) => ({ keyName: s.keyName, algorithm: s.algorithm })),
      control: head.control.map((c) => c.name),
      files,
    };
    output(ctx, json, value, () =>
      [
        show(`${head.pkginfo.pkgname}-${head.pkginfo.pkgver} (${head.pkginfo.arch})`),
        `  C: ${head.controlChecksum}`,
        `  datahash: ${data.datahash}${!head.pkginfo.datahash ? " (NONE in .PKGINFO: the data is not bound; verify, install and publish refuse it)" : data.datahashMatches ? "" : ` (MISMATCH: .PKGINFO says ${show(head.pkginfo.datahash)})`}`,
        `  signed by: ${show(head.signatures.map((s) => `${s.keyName} (${s.algorithm})`).join(", ")) || "nobody"} (not verified; use verify)`,
        `  depends: ${show(head.pkginfo.depends.join(" ")) || "-"}`,
        `  provides: ${show(head.pkginfo.provides.join(" ")) || "-"}`,
        `  files (${files.length}):`,
        ...files.map(
          (f) =>
            // Names and link targets come from the package: escaped, so they cannot drive the terminal.
            `    ${f.mode} ${f.type.padEnd(9)} ${String(f.size).padStart(9)} ${show(f.path)}${f.link ? ` -> ${show(f.link)}` : ""}`,
        ),
      ].join("\n"),
    );
    return 0;
  },
};

/** Text from a package or index, safe for a terminal: control characters escaped, never cut. */
function show(text: string): string {
  return printableName(text, Number.POSITIVE_INFINITY);
}
