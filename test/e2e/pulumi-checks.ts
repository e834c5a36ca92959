import * as assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { RegistryServer } from "../helpers/registry-server";

/**
 * Blob uploads the registry completed, from its own log: the final PUT of every upload session
 * (`/v2/<name>/blobs/uploads/<id>?digest=...`), counted across the registry's lifetime.
 */
export function blobUploads(registry: RegistryServer): number {
  const log = readFileSync(registry.logFile, "utf8");
  return log
    .split("\n")
    .filter(
      (l) =>
        /http\.request\.method=PUT\b/.test(l) && /\/blobs\/uploads\//.test(l) && /response completed/.test(l),
    ).length;
}

/**
 * The digests of the blobs the registry stores, manifests excluded (its filesystem driver keeps
 * manifests as blobs too, linked from each repository's `_manifests/revisions`).
 */
export function blobsInStorage(registry: RegistryServer): string[] {
  const v2 = path.join(registry.storageDir, "docker", "registry", "v2");
  const root = path.join(v2, "blobs", "sha256");
  if (!existsSync(root)) return [];
  const manifests = new Set(
    readdirSync(path.join(v2, "repositories"), { recursive: true, encoding: "utf8" })
      .filter((p) => p.includes(`_manifests${path.sep}revisions${path.sep}sha256${path.sep}`))
      .map((p) => path.basename(p)),
  );
  return readdirSync(root)
    .flatMap((prefix) => readdirSync(path.join(root, prefix)))
    .filter((digest) => !manifests.has(digest));
}

/** Every file under `dir` (recursively) as text, for the secret scans; plugin binaries excluded. */
export function filesUnder(dir: string): { what: string; text: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !f.includes(`${path.sep}plugins${path.sep}`))
    .map((f) => ({ what: f, text: readFileSync(f, "latin1") }));
}

/**
 * Asserts no secret shows up in any of `places`: a PEM key by any line of its body (so a key cut
 * up, re-wrapped or JSON-escaped is still caught) and the "PRIVATE KEY" marker; a password as is.
 */
export function secretScan(secrets: Record<string, string>, places: { what: string; text: string }[]): void {
  const needles: { secret: string; needle: string }[] = [];
  for (const [secret, value] of Object.entries(secrets)) {
    if (value.includes("-----BEGIN")) {
      needles.push({ secret, needle: "PRIVATE KEY" });
      for (const line of value.split("\n"))
        if (line.length >= 40 && !line.startsWith("-----")) needles.push({ secret, needle: line });
    } else {
      needles.push({ secret, needle: value });
    }
  }
  assert.ok(places.length > 0);
  for (const place of places) {
    for (const { secret, needle } of needles) {
      assert.ok(!place.text.includes(needle), `${place.what} holds ${secret} in plain text`);
    }
  }
}
