/**
 * melange's provenance file, `<name>-<ver>-r<epoch>.attest.tar.gz` beside the apk (outside it, so
 * the apk stays reproducible): gzip(tar(`<name>-<ver>-r<epoch>.attestation`)), the statement as
 * indented JSON, preceded by an apk-style signature member when the build signs.
 */
import * as fsp from "node:fs/promises";
import * as zlib from "node:zlib";
import { buildSignatureMember } from "../../apk/index-archive";
import type { SigningKey } from "../../apk/keys";
import { sign } from "../../apk/signature";
import { newHeader } from "../../archive/tar-header";
import { readTarBuffer } from "../../archive/tar-reader";
import { buildTar } from "../../archive/tar-writer";
import { DistrolessError } from "../../util/errors";
import { writeFileAtomic } from "../../util/fs";
import { ociDigest } from "../../util/hash";

export function provenanceFileName(name: string, fullVersion: string): string {
  return `${name}-${fullVersion}.attest.tar.gz`;
}

export interface WrittenProvenance {
  file: string;
  /** `sha256:` of the statement JSON (what an image attestation carries). */
  digest: string;
}

export async function writeProvenanceFile(options: {
  file: string;
  identity: string;
  statement: Record<string, unknown>;
  sourceDateEpoch: number;
  signingKey?: SigningKey;
}): Promise<WrittenProvenance> {
  const json = Buffer.from(JSON.stringify(options.statement, null, 2));
  const tar = buildTar(
    [
      {
        header: newHeader({
          name: `${options.identity}.attestation`,
          type: "file",
          mode: 0o644,
          mtime: options.sourceDateEpoch,
          uname: "root",
          gname: "root",
        }),
        data: json,
      },
    ],
    { endOfArchive: true },
  );
  const content = zlib.gzipSync(tar, { level: 9 });
  const parts = options.signingKey
    ? [buildSignatureMember([sign(content, options.signingKey, "sha256")]), content]
    : [content];
  await writeFileAtomic(options.file, Buffer.concat(parts));
  return { file: options.file, digest: ociDigest(json) };
}

/** The statement in a provenance file, checked against the digest it was recorded with. */
export async function readProvenanceFile(file: string, digest?: string): Promise<Record<string, unknown>> {
  const entries = await readTarBuffer(zlib.gunzipSync(await fsp.readFile(file)), { maxEntryBytes: 16 << 20 });
  const statement = entries.find((e) => e.header.name.endsWith(".attestation"));
  if (!statement)
    throw new DistrolessError("E_FORMAT", "no .attestation entry in the provenance file", { subject: file });
  if (digest && ociDigest(statement.data) !== digest) {
    throw new DistrolessError(
      "E_CHECKSUM",
      `the provenance changed since it was built (expected ${digest})`,
      {
        subject: file,
      },
    );
  }
  return JSON.parse(statement.data.toString("utf8")) as Record<string, unknown>;
}
