/**
 * Runs the linters on each built package's output tree, as `melange build` does after the
 * pipelines and before anything is packaged: the warn set first (findings are printed), then the
 * require set (findings fail the build). A package's `checks.disabled` moves those linters from
 * require to warn — melange still runs them, as warnings. `checks.enabled` is parsed by melange but
 * not used by its build, so it is not used here either. Unknown linter names are refused.
 */

import { DistrolessError } from "../../util/errors";
import type { Progress } from "../../util/log";
import type { PackageFs } from "../detect/package-fs";
import type { LintFinding } from "./linter-kit";
import { defaultRequiredLinters, defaultWarnLinters, LINTER_NAMES, linterNamed } from "./linters";

export interface LintSettings {
  /** melange's --lint-require (default: the linters melange requires). */
  require?: string[];
  /** melange's --lint-warn (default: the linters melange warns with). */
  warn?: string[];
}

export interface LintPackage {
  name: string;
  /** The package's output directory. */
  dir: string;
  fs: PackageFs;
  /** The package's `checks.disabled`. */
  disabled: string[];
  /** The `uses` of the package's top-level test steps. */
  testUses: string[];
}

export interface LintResult {
  pkg: string;
  linter: string;
  required: boolean;
  finding: LintFinding;
}

const MAX_PATHS_SHOWN = 10;

function describe(r: LintResult): string {
  const shown = r.finding.paths.slice(0, MAX_PATHS_SHOWN);
  const more = r.finding.paths.length - shown.length;
  const paths = shown.length > 0 ? `: ${shown.join(", ")}${more > 0 ? ` (and ${more} more)` : ""}` : "";
  return `[${r.linter}] ${r.pkg}: ${r.finding.message.split("\n")[0]}${paths}`;
}

function checkNames(names: string[], subject: string): void {
  const unknown = names.filter((n) => linterNamed(n) === undefined);
  if (unknown.length > 0) {
    throw new DistrolessError(
      "E_CONFIG",
      `unknown linter ${unknown.map((n) => JSON.stringify(n)).join(", ")} (known: ${LINTER_NAMES.join(", ")})`,
      { subject },
    );
  }
}

/** Lints every package; warnings go to `progress.warn`; required findings throw one E_BUILD error. */
export async function lintPackages(
  packages: LintPackage[],
  settings: LintSettings,
  progress: Progress,
): Promise<LintResult[]> {
  const baseRequire = settings.require ?? defaultRequiredLinters();
  const baseWarn = settings.warn ?? defaultWarnLinters();
  checkNames(baseRequire, "--lint-require");
  checkNames(baseWarn, "--lint-warn");
  const results: LintResult[] = [];
  for (const p of packages) {
    checkNames(p.disabled, `${p.name}: checks.disabled`);
    const require = baseRequire.filter((n) => !p.disabled.includes(n));
    const warn = [...new Set([...baseWarn, ...p.disabled])];
    const target = { name: p.name, dir: p.dir, entries: await p.fs.entries(), testUses: p.testUses };
    for (const [names, required] of [
      [warn, false],
      [require, true],
    ] as const) {
      for (const name of names) {
        const linter = linterNamed(name)!;
        const finding = await linter.check(target);
        if (!finding) continue;
        const r: LintResult = { pkg: p.name, linter: name, required, finding };
        results.push(r);
        if (!required) progress.warn(`lint warning ${describe(r)} (${linter.explain})`);
      }
    }
  }
  const failed = results.filter((r) => r.required);
  if (failed.length > 0) {
    const lines = failed.map((r) => `${describe(r)} — ${linterNamed(r.linter)!.explain}`);
    throw new DistrolessError(
      "E_BUILD",
      `linting failed:\n  ${lines.join("\n  ")}\n(a linter can be turned into a warning with checks.disabled in the package or subpackage)`,
      { subject: failed[0]!.pkg },
    );
  }
  return results;
}
