import * as assert from "node:assert/strict";
import { parseIndexText } from "../../provider/apk/index-text";
import { ResolveError } from "../../provider/resolve/explain";
import { PackageIndex, type RepoInfo } from "../../provider/resolve/package-index";
import { type SolveOptions, solve } from "../../provider/resolve/solver";
import { q1Encode, sha1 } from "../../provider/util/hash";

/**
 * apk-tools' own solver test style: repositories as APKINDEX text, a world, the expected install
 * set or error. `C:` and `S:`/`I:` are filled in so a record needs only what the case is about.
 * The text goes through the real index parser, so the cases also pin how records are read.
 */
export function repo(text: string, tag?: string): { text: string; tag?: string } {
  return tag ? { text, tag } : { text };
}

function complete(text: string): string {
  let n = 0;
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((rec) => {
      const lines = rec
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      if (!lines.some((l) => l.startsWith("C:"))) lines.unshift(`C:${q1Encode(sha1(`${rec}#${n++}`))}`);
      if (!lines.some((l) => l.startsWith("S:"))) lines.push("S:1");
      if (!lines.some((l) => l.startsWith("I:"))) lines.push("I:1");
      return lines.join("\n");
    })
    .join("\n\n")
    .concat("\n");
}

export function indexOf(repos: { text: string; tag?: string }[], arch = "x86_64"): PackageIndex {
  return new PackageIndex(
    arch,
    repos.map((r, order) => {
      const info: RepoInfo = { location: `repo${order}`, order };
      if (r.tag) info.tag = r.tag;
      return { repo: info, entries: parseIndexText(complete(r.text)) };
    }),
  );
}

/** `name-version` of every package installed, sorted (install order is tested elsewhere). */
export function installs(
  repos: { text: string; tag?: string }[],
  world: string[],
  options?: SolveOptions,
): string[] {
  return solve(indexOf(repos), world, options)
    .packages.map((c) => c.label)
    .sort();
}

/** The ResolveError the world fails with. */
export function fails(
  repos: { text: string; tag?: string }[],
  world: string[],
  options?: SolveOptions,
): ResolveError {
  try {
    const got = solve(indexOf(repos), world, options).packages.map((c) => c.label);
    assert.fail(`expected the world to fail, it installs ${got.join(" ")}`);
  } catch (err) {
    if (err instanceof ResolveError) return err;
    throw err;
  }
}
