import { compareVersions } from "../apk/version";
import { DistrolessError } from "../util/errors";
import type { PinnedPackage } from "./apko-lock";
import { ResolveError } from "./explain";
import type { Candidate, PackageIndex } from "./package-index";
import { type Solution, solve } from "./solver";

/**
 * Solves the world using exactly the packages a lock pins: every other version (and every package
 * the lock does not list) is excluded, each pin must still exist with the locked checksum, and the
 * solver checks that the pinned set still satisfies the world and every dependency, so a stale lock
 * fails with the chain that broke it. The result follows the lock's order.
 */
export function solveLocked(
  index: PackageIndex,
  world: readonly string[],
  pins: readonly PinnedPackage[],
): Solution {
  const byName = new Map<string, PinnedPackage>();
  for (const p of pins) byName.set(p.name, p);
  const exclude = new Map<Candidate, string>();
  const found = new Set<PinnedPackage>();
  const mismatched = new Map<PinnedPackage, Candidate>();
  for (const cand of index.candidates) {
    const pin = byName.get(cand.name);
    if (!pin) {
      exclude.set(cand, "the lock does not list it (re-run lock to add it)");
    } else if (pin.version !== cand.version) {
      exclude.set(cand, `the lock pins ${pin.name}-${pin.version}`);
    } else if (pin.checksum && pin.checksum !== cand.checksum) {
      exclude.set(cand, `its checksum ${cand.checksum} is not the locked ${pin.checksum}`);
      mismatched.set(pin, cand);
    } else {
      found.add(pin);
    }
  }
  for (const pin of pins) {
    if (found.has(pin)) continue;
    const other = mismatched.get(pin);
    if (other) {
      throw new DistrolessError(
        "E_CHECKSUM",
        `the lock pins ${pin.name}-${pin.version} with checksum ${pin.checksum}, but ${other.repo.location} now has ${other.checksum} for that version (the package was rebuilt; re-run lock if that is expected)`,
        { subject: index.arch },
      );
    }
    throw new ResolveError(
      index.arch,
      "lock",
      `the lock pins ${pin.name}-${pin.version}, which no configured repository has for ${index.arch} any more (re-run lock)`,
      pin.name,
    );
  }
  const prefer = new Map(pins.map((p) => [p.name, p.version] as const));
  const solution = solve(index, world, { exclude, prefer });
  const position = new Map(pins.map((p, i) => [p.name, i] as const));
  solution.packages.sort((a, b) => position.get(a.name)! - position.get(b.name)!);
  const used = new Set(solution.packages.map((c) => c.name));
  for (const pin of pins) {
    if (!used.has(pin.name)) {
      solution.notices.push(
        `${index.arch}: the lock lists ${pin.name}-${pin.version}, which nothing requires any more`,
      );
    }
  }
  return solution;
}

/** Notices for packages whose unlocked resolution is newer than the locked version. */
export function newerThanLocked(locked: Solution, fresh: Solution): string[] {
  const now = new Map(fresh.packages.map((c) => [c.name, c] as const));
  const out: string[] = [];
  for (const cand of locked.packages) {
    const latest = now.get(cand.name);
    if (latest && compareVersions(latest.version, cand.version) > 0) {
      out.push(`${locked.arch}: ${cand.name} is locked at ${cand.version}; ${latest.version} is available`);
    }
  }
  return out;
}
