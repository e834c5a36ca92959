import * as path from "node:path";
import { readApkHead, scanApkData } from "../../apk/apk-reader";
import { readIndexArchive } from "../../apk/index-archive";
import { DistrolessError } from "../../util/errors";
import { readFileCapped } from "../../util/fs";
import { sha1Hex } from "../../util/hash";
import { boolFlag, type CliContext, output, parseVerbArgs, type Verb } from "../command";
import { artifactKind } from "./artifact-kind";

export const verb: Verb = {
  summary: "show an apk (PKGINFO, checksums, files) or an index (its packages)",
  usage: "pulumi-distroless inspect FILE [--json]",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("inspect", ctx.argv, { json: { type: "boolean" } });
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
          `APKINDEX ${arg}: ${idx.entries.length} packages; signed by ${idx.signatures.map((s) => s.keyName).join(", ") || "nobody"} (not verified; use verify)`,
          ...idx.entries.map((e) => `  ${e.name}-${e.version} ${e.arch} ${e.checksum} ${e.size} B`),
        ].join("\n"),
      );
      return 0;
    }
    const head = await readApkHead(file);
    const files: { path: string; type: string; mode: string; size: number; sha1?: string; link?: string }[] =
      [];
    const data = await scanApkData(
      head,
      async (entry, body) => {
        const chunks: Buffer[] = [];
        if (entry.header.type === "file") for await (const c of body) chunks.push(c);
        files.push({
          path: entry.path,
          type: entry.header.type,
          mode: entry.header.mode.toString(8).padStart(4, "0"),
          size: entry.header.size,
          ...(entry.header.type === "file" ? { sha1: sha1Hex(Buffer.concat(chunks)) } : {}),
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
        `${head.pkginfo.pkgname}-${head.pkginfo.pkgver} (${head.pkginfo.arch})`,
        `  C: ${head.controlChecksum}`,
        `  datahash: ${data.datahash}${data.datahashMatches ? "" : ` (MISMATCH: .PKGINFO says ${head.pkginfo.datahash})`}`,
        `  signed by: ${head.signatures.map((s) => `${s.keyName} (${s.algorithm})`).join(", ") || "nobody"} (not verified; use verify)`,
        `  depends: ${head.pkginfo.depends.join(" ") || "-"}`,
        `  provides: ${head.pkginfo.provides.join(" ") || "-"}`,
        `  files (${files.length}):`,
        ...files.map(
          (f) =>
            `    ${f.mode} ${f.type.padEnd(9)} ${String(f.size).padStart(9)} ${f.path}${f.link ? ` -> ${f.link}` : ""}`,
        ),
      ].join("\n"),
    );
    return 0;
  },
};
