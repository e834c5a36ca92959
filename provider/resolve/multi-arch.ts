import { DistrolessError } from "../util/errors";
import { ResolveError } from "./explain";
import type { Candidate, PackageIndex } from "./package-index";
import { type Solution, type SolveOptions, solve } from "./solver";

/**
 * For each arch, the candidates to avoid because another arch's indexes carry the same package name
 * but not that version: choosing them would give the archs different versions. They remain a last
 * resort (the solver notes it when it has to), so a real skew between archs degrades to a notice,
 * and packages that exist on one arch only are not affected.
 */
export function crossArchAvoid(
  indexes: ReadonlyMap<string, PackageIndex>,
): Map<string, Map<Candidate, string>> {
  const out = new Map<string, Map<Candidate, string>>();
  for (const [arch, index] of indexes) {
    const avoid = new Map<Candidate, string>();
    // With one arch there is nothing to compare with (and no reason to visit every package).
    if (indexes.size < 2) {
      out.set(arch, avoid);
      continue;
    }
    for (const cand of index.candidates) {
      for (const [other, otherIndex] of indexes) {
        if (other === arch) continue;
        const versions = otherIndex.versionsOf(cand.name);
        if (versions && !versions.has(cand.version)) {
          avoid.set(cand, `${cand.label} is not available for ${other}`);
          break;
        }
      }
    }
    out.set(arch, avoid);
  }
  return out;
}

/**
 * Solves the world for every arch, keeping versions the same across archs where the indexes allow.
 * Failures are collected so one error reports every arch that failed; a package that exists for
 * some archs but not this one is named as such.
 */
export function solveAllArchs(
  world: readonly string[],
  indexes: ReadonlyMap<string, PackageIndex>,
  options: Omit<SolveOptions, "avoid"> & {
    perArch?: ReadonlyMap<string, SolveOptions>;
    /** World entries one arch adds (a base image's installed packages, pinned). */
    extraWorld?: ReadonlyMap<string, readonly string[]>;
  } = {},
): Map<string, Solution> {
  const avoid = indexes.size > 1 ? crossArchAvoid(indexes) : new Map<string, Map<Candidate, string>>();
  const solutions = new Map<string, Solution>();
  const failures: string[] = [];
  for (const [arch, index] of indexes) {
    const { perArch: _perArch, extraWorld: _extraWorld, ...common } = options;
    const archOptions: SolveOptions = { ...common, ...options.perArch?.get(arch) };
    const av = avoid.get(arch);
    if (av && av.size > 0) archOptions.avoid = av;
    try {
      const extra = options.extraWorld?.get(arch);
      solutions.set(arch, solve(index, extra ? [...world, ...extra] : world, archOptions));
    } catch (err) {
      if (!(err instanceof ResolveError)) throw err;
      failures.push(explainArchGap(err, arch, indexes));
    }
  }
  if (failures.length > 0) throw new DistrolessError("E_RESOLVE", mergeSameFailures(failures).join("\n"));
  return solutions;
}

function explainArchGap(err: ResolveError, arch: string, indexes: ReadonlyMap<string, PackageIndex>): string {
  if (err.kind !== "unknown" || !err.about) return err.message;
  const elsewhere = [...indexes]
    .filter(([a, idx]) => a !== arch && idx.providers(err.about!).length > 0)
    .map(([a]) => a);
  if (elsewhere.length === 0) return err.message;
  return `${arch}: "${err.about}" is not available for ${arch} (it is for ${elsewhere.join(", ")}); ${err.message.replace(/^[^:]*: /, "")}`;
}

/** `x86_64: X` and `aarch64: X` become `x86_64, aarch64: X`: one line per distinct problem. */
function mergeSameFailures(failures: string[]): string[] {
  const byText = new Map<string, string[]>();
  for (const f of failures) {
    const colon = f.indexOf(": ");
    const arch = f.slice(0, colon);
    const text = f.slice(colon + 2);
    byText.set(text, [...(byText.get(text) ?? []), arch]);
  }
  return [...byText].map(([text, archs]) => `${archs.join(", ")}: ${text}`);
}
