import { existsSync } from "node:fs";
import * as path from "node:path";

/** The project root (this file compiles to dist/test/helpers/). */
export const projectRoot = path.resolve(__dirname, "..", "..", "..");

/** `../shared/fixtures` beside the project root: real artifacts made by apk-tools, melange, apko. */
export const fixturesDir = path.resolve(projectRoot, "..", "shared", "fixtures");

/**
 * The path of a fixture. Missing fixtures fail loudly when `CI` is set; elsewhere the caller's test
 * is skipped by `fixturesAvailable()`.
 */
export function fixture(...parts: string[]): string {
  return path.join(fixturesDir, ...parts);
}

export function fixturesAvailable(): boolean {
  const ok = existsSync(path.join(fixturesDir, "README.md"));
  if (!ok && process.env.CI) {
    throw new Error(`fixtures not found at ${fixturesDir}; CI needs ../shared beside the clone`);
  }
  return ok;
}

/** Options for `test()`/`describe()` that skip, naming why, when the fixtures are absent. */
export function needsFixtures(): { skip?: string } {
  return fixturesAvailable() ? {} : { skip: `no fixtures at ${fixturesDir}` };
}
