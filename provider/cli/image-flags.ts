import * as path from "node:path";
import type { ImageOverrides } from "../image/pipeline";
import type { PinnedPackage } from "../resolve/apko-lock";
import { readApkoLockFile } from "../resolve/apko-lock";
import { DistrolessError } from "../util/errors";
import { type CliContext, type FlagTable, type ParsedVerbArgs, stringFlag, stringsFlag } from "./command";

/**
 * The flags `build` and `lock` share to add to an apko config without editing it (what apko's
 * -r/-b/-k/-p/--annotations do, and what a DistrolessImage's inputs do).
 */
export const imageOverrideFlagOptions = {
  repository: {
    type: "string",
    multiple: true,
    value: "URL|DIR",
    help: "add a repository to the config's (resolved from, written into the image)",
  },
  "build-repository": {
    type: "string",
    multiple: true,
    value: "URL|DIR",
    help: "add a repository to resolve from, not written into the image",
  },
  keyring: { type: "string", multiple: true, value: "KEY", help: "add a trusted key (file or URL)" },
  package: { type: "string", multiple: true, value: "CONSTRAINT", help: "add a package to install" },
  annotation: {
    type: "string",
    multiple: true,
    value: "KEY=VALUE",
    help: "add an annotation to the index and manifests",
  },
} as const satisfies FlagTable;

/** The overrides the flags ask for; relative paths are the working directory's. */
export function imageOverridesFromArgs(args: ParsedVerbArgs, ctx: CliContext): ImageOverrides {
  const annotations: Record<string, string> = {};
  for (const kv of stringsFlag(args, "annotation")) {
    const eq = kv.indexOf("=");
    if (eq <= 0) {
      throw new DistrolessError("E_CONFIG", `--annotation needs KEY=VALUE (got ${JSON.stringify(kv)})`, {
        subject: "--annotation",
      });
    }
    annotations[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    repositories: stringsFlag(args, "repository"),
    buildRepositories: stringsFlag(args, "build-repository"),
    keyring: stringsFlag(args, "keyring"),
    packages: stringsFlag(args, "package"),
    annotations,
    baseDir: ctx.cwd,
  };
}

/** The pins of `--lock FILE` (an apko lock), or undefined without the flag. */
export async function lockPinsFromArgs(
  args: ParsedVerbArgs,
  ctx: CliContext,
): Promise<Map<string, PinnedPackage[]> | undefined> {
  const file = stringFlag(args, "lock");
  return file === undefined ? undefined : readApkoLockFile(path.resolve(ctx.cwd, file));
}
