/**
 * Keeps WebAssembly on V8's baseline compiler (Liftoff) for the command line, on Node 20.
 *
 * undici parses HTTP/1 with llhttp compiled to WebAssembly. V8 compiles it with Liftoff at once and
 * then again with TurboFan on background threads, and Node waits for those threads before the
 * process exits: a no-op re-push (four HEADs) spent ~200 ms of CPU and an idle ~230 ms at its end
 * on a parser it used for a few hundred bytes. Liftoff's code is fast enough for what we parse:
 * headers, and bodies that llhttp only counts (a 1 GiB download took the same CPU either way,
 * within noise; bench/push.ts times a download both ways).
 *
 * Imported by main.ts for its side effect, and active only when the command line is the process's
 * entry point (entry.ts): a program that imports the CLI's functions, or the Pulumi engine's dynamic-provider host
 * (one long-lived process per `pulumi up`, where the compile is paid once), keeps V8's defaults.
 * `PD_WASM_TIER_UP=1` keeps the defaults for the command line too.
 */
import { setFlagsFromString } from "node:v8";
import { isCommandLineEntry } from "./entry";

/**
 * Only where V8 tiers up that early: V8 11 (Node 20) spends its dynamic-tiering budget (1.8 M) within
 * a few requests; V8 13 (Node 24) budgets 13 M and did not tier up in a re-push. There the flag only
 * costs: a changed V8 flag makes V8 reject the code cache Node embeds for its own modules (http,
 * tls, crypto... then compile from source). Measured, CPU of a no-op re-push: Node 20 0.53 s ->
 * 0.30 s with it; Node 24 0.30 s -> 0.38 s. (Node 22, V8 12, not measured: left at the default.)
 */
export function tiersUpEarly(v8Version: string = process.versions.v8): boolean {
  return Number(v8Version.split(".")[0]) < 12;
}

export function keepWasmOnLiftoff(
  env: NodeJS.ProcessEnv = process.env,
  v8Version: string = process.versions.v8,
): boolean {
  if (env.PD_WASM_TIER_UP === "1" || !tiersUpEarly(v8Version)) return false;
  // Must run before the first WebAssembly.Module is compiled: the flag is read at compile time.
  setFlagsFromString("--liftoff-only");
  return true;
}

if (isCommandLineEntry()) keepWasmOnLiftoff();
