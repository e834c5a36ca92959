/**
 * Keeps WebAssembly on V8's baseline compiler (Liftoff) for the command line.
 *
 * undici parses HTTP/1 with llhttp compiled to WebAssembly. V8 compiles it with Liftoff at once and
 * then again with TurboFan on background threads, and Node waits for those threads before the
 * process exits: a no-op re-push (a few HEADs) spent ~200 ms of CPU and an idle ~230 ms at its end
 * on a parser it used for a few hundred bytes. Liftoff's code is fast enough for what we parse:
 * headers, and bodies that llhttp only counts (a 1 GiB download took the same CPU either way,
 * within noise; bench/push.ts times a download both ways).
 *
 * When: a changed V8 flag makes V8 reject the code cache Node embeds for its own modules (those
 * loaded after the change then compile from source), and the one we keep for the bundle
 * (code-cache.ts) if it differs from the flags the cache was made under.
 *   - V8 < 12 (Node 20) tiers llhttp up within a few requests: the flag is set at start, for every
 *     command alike (Node 20 cannot set a flag back so that its code cache is taken again).
 *   - V8 >= 12 (Node 24) tiers up later, yet still at the end of a re-push (its exit waited
 *     100-250 ms for TurboFan; with the flag a push took ~70 ms less CPU). Set at start, the flag
 *     cost every command (a local lock ~20 ms more CPU), so main.ts has it set when undici first
 *     loads (util/undici-lean.ts), in commands that make requests; the launcher sets it back before
 *     it saves the bundle's code cache (flagsForCodeCache), so the cache matches the next start.
 *
 * Active only when the command line is the process's entry point (entry.ts): a program that imports
 * the CLI's functions, or the Pulumi engine's dynamic-provider host (one long-lived process per
 * `pulumi up`, where the compile is paid once), keeps V8's defaults.
 * `PD_WASM_TIER_UP=1` keeps the defaults for the command line too.
 */
import { isCommandLineEntry } from "./entry";

type V8 = typeof import("node:v8");

export function tiersUpEarly(v8Version: string = process.versions.v8): boolean {
  return Number(v8Version.split(".")[0]) < 12;
}

/**
 * Set after V8 started, `--liftoff-only` alone no longer turns tier-up off (V8 13 works out what a
 * flag implies once, at start): its implications are spelled out. `RESTORE` is V8's defaults.
 */
const LATE_FLAGS = "--liftoff-only --no-wasm-tier-up --no-wasm-dynamic-tiering";
const RESTORE = "--no-liftoff-only --wasm-tier-up --wasm-dynamic-tiering";

/**
 * Keeps wasm on Liftoff unless PD_WASM_TIER_UP=1: `--liftoff-only` at start (V8 < 12), the flags
 * it implies too when set later. Must run before llhttp is compiled.
 */
export function keepWasmOnLiftoff(
  env: NodeJS.ProcessEnv = process.env,
  v8Version: string = process.versions.v8,
): boolean {
  if (env.PD_WASM_TIER_UP === "1") return false;
  (require("node:v8") as V8).setFlagsFromString(tiersUpEarly(v8Version) ? "--liftoff-only" : LATE_FLAGS);
  return true;
}

/**
 * Called by the launcher before it writes a code cache: on V8 >= 12 the flags back as they were at
 * start (the flag may have been set since, above), so V8 takes the cache at the next start. V8 11
 * does not restore its flag hash this way, and there the flag was set at start anyway.
 */
export function flagsForCodeCache(v8Version: string = process.versions.v8): void {
  if (!tiersUpEarly(v8Version)) (require("node:v8") as V8).setFlagsFromString(RESTORE);
}

// The late case is main.ts's: it registers keepWasmOnLiftoff with util/undici-lean.ts.
if (isCommandLineEntry() && tiersUpEarly()) keepWasmOnLiftoff();
