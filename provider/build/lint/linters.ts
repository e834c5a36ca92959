/**
 * The registry of melange's linters (v0.59.1 pkg/linter/linter.go): every name melange knows, with
 * the defaults of `melange build --lint-require` / `--lint-warn`.
 */
import { CONTENT_LINTERS } from "./content-linters";
import type { Linter } from "./linter-kit";
import { PATH_LINTERS } from "./path-linters";

export const LINTERS: readonly Linter[] = [...PATH_LINTERS, ...CONTENT_LINTERS].sort((a, b) =>
  a.name < b.name ? -1 : 1,
);

export const LINTER_NAMES: readonly string[] = LINTERS.map((l) => l.name).sort();

export function linterNamed(name: string): Linter | undefined {
  return LINTERS.find((l) => l.name === name);
}

/** melange's --lint-require default: the linters whose findings fail the build. */
export function defaultRequiredLinters(): string[] {
  return LINTERS.filter((l) => l.behavior === "require")
    .map((l) => l.name)
    .sort();
}

/** melange's --lint-warn default. */
export function defaultWarnLinters(): string[] {
  return LINTERS.filter((l) => l.behavior === "warn")
    .map((l) => l.name)
    .sort();
}
