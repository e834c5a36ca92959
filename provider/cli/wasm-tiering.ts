/**
 * Keeps WebAssembly on V8's baseline compiler (Liftoff) for the command line.
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

export function keepWasmOnLiftoff(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.PD_WASM_TIER_UP === "1") return false;
  // Must run before the first WebAssembly.Module is compiled: the flag is read at compile time.
  setFlagsFromString("--liftoff-only");
  return true;
}

if (isCommandLineEntry()) keepWasmOnLiftoff();
