import { ALL_ARCHS, hostArch, requireArch } from "../../image/config/arch";
import { type GoFlagValues, goBool, goList, goString } from "./go-flags";

/**
 * apko's --arch values as apk names: OCI aliases map (amd64 -> x86_64), `host` is this machine,
 * `all` is every arch apko knows. Empty: the config decides.
 */
export function apkoArchs(values: GoFlagValues, flag = "arch"): string[] {
  const out = new Set<string>();
  for (const a of goList(values, flag)) {
    if (a === "all") for (const x of ALL_ARCHS) out.add(x);
    else if (a === "host") out.add(hostArch());
    else out.add(requireArch(a, `--${flag}`));
  }
  return [...out];
}

/** The flags our `build`/`lock` share with apko's appends, in our spelling. */
export function overrideArgs(values: GoFlagValues): string[] {
  const args: string[] = [];
  for (const r of goList(values, "repository-append")) args.push("--repository", r);
  for (const r of goList(values, "build-repository-append")) args.push("--build-repository", r);
  for (const k of goList(values, "keyring-append")) args.push("--keyring", k);
  for (const p of goList(values, "package-append")) args.push("--package", p);
  for (const a of apkoArchs(values)) args.push("--arch", a);
  const cacheDir = goString(values, "cache-dir");
  if (cacheDir) args.push("--cache-dir", cacheDir);
  if (goBool(values, "offline", false)) args.push("--offline");
  if (goBool(values, "ignore-signatures", false)) args.push("--allow-untrusted");
  return args;
}
