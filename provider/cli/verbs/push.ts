import * as fsp from "node:fs/promises";
import * as path from "node:path";
import {
  type PushResult,
  parseReference,
  pushLayout,
  RegistryClient,
  type RegistryOptions,
} from "../../registry";
import { DistrolessError } from "../../util/errors";
import { formatBytes } from "../../util/log";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  output,
  type ParsedVerbArgs,
  parseVerbArgs,
  stringFlag,
  stringsFlag,
  type Verb,
} from "../command";

/** The registry flags, for any verb that pushes (`build --push` spreads these into its own options). */
export const registryFlagOptions = {
  insecure: { type: "boolean", help: "allow plain HTTP or unverified TLS to a non-loopback registry" },
  "ca-file": { type: "string", value: "PEM", help: "extra CA certificates for the registry" },
  username: {
    type: "string",
    value: "USER",
    help: "registry user (the password comes from --password-stdin)",
  },
  "password-stdin": { type: "boolean", help: "read the registry password from stdin" },
} as const satisfies FlagTable;

const options = {
  ...registryFlagOptions,
  tag: { type: "string", multiple: true, value: "TAG", help: "also point TAG at the pushed image" },
  ref: {
    type: "string",
    value: "REF",
    help: "push the layout's index.json entry named REF instead of the image index",
  },
  json: { type: "boolean", help: "print the result as JSON" },
} as const satisfies FlagTable;

/**
 * `DIR` or `DIR:REF` (skopeo's `oci:DIR:REF`): REF names an entry of the layout's index.json by its
 * `org.opencontainers.image.ref.name`. A colon belongs to the directory when the whole text is one.
 */
export async function splitLayoutArg(text: string, cwd: string): Promise<{ dir: string; ref?: string }> {
  const whole = path.resolve(cwd, text);
  const colon = text.lastIndexOf(":");
  if (colon <= 0 || (await isDirectory(whole))) return { dir: whole };
  const dir = path.resolve(cwd, text.slice(0, colon));
  const ref = text.slice(colon + 1);
  return ref ? { dir, ref } : { dir };
}

async function isDirectory(p: string): Promise<boolean> {
  return (await fsp.stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * Registry options from `--insecure`, `--ca-file F`, `--username U --password-stdin`. Without a
 * username, credentials come from docker's config.json (and its credential helpers).
 */
export async function registryOptionsFromArgs(
  args: ParsedVerbArgs,
  ctx: CliContext,
): Promise<RegistryOptions> {
  const opts: RegistryOptions = { progress: ctx.progress, env: ctx.env };
  if (boolFlag(args, "insecure")) opts.insecure = true;
  const caFile = stringFlag(args, "ca-file");
  if (caFile) {
    const file = path.resolve(ctx.cwd, caFile);
    opts.caBundle = await fsp.readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new DistrolessError("E_MISSING", `cannot read the CA bundle: ${err.code ?? err.message}`, {
        subject: file,
      });
    });
  }
  const username = stringFlag(args, "username");
  const passwordStdin = boolFlag(args, "password-stdin");
  if (passwordStdin && !username) throw new DistrolessError("E_CONFIG", "--password-stdin needs --username");
  if (username && !passwordStdin) {
    throw new DistrolessError(
      "E_CONFIG",
      "--username needs --password-stdin (passwords are never taken as arguments)",
    );
  }
  if (username) {
    const password = (await readStdin()).replace(/\r?\n$/, "");
    if (!password) throw new DistrolessError("E_CONFIG", "--password-stdin: standard input was empty");
    opts.auth = { username, password };
  }
  return opts;
}

/**
 * Pushes one layout to several repositories (each `REPO[:TAG]`, plus `tags` on every one). Clients
 * are shared per registry, so the second repository on a registry mounts the first one's blobs.
 */
export async function pushToRepositories(
  layoutDir: string,
  references: string[],
  registryOptions: RegistryOptions & { tags?: string[]; layoutRef?: string },
): Promise<PushResult[]> {
  const clients = new Map<string, RegistryClient>();
  try {
    const results: PushResult[] = [];
    for (const reference of references) {
      const { registry } = parseReference(reference);
      let client = clients.get(registry);
      if (!client) {
        client = new RegistryClient(registry, registryOptions);
        clients.set(registry, client);
      }
      results.push(await pushLayout({ ...registryOptions, layoutDir, reference, client }));
    }
    return results;
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
}

/** The human summary of one push: reference, index digest, tags, platforms, uploaded vs skipped. */
export function describePush(r: PushResult): string {
  const lines = [r.imageRef, `  digest    ${r.indexDigest}`];
  if (r.tags.length > 0) lines.push(`  tags      ${r.tags.join(", ")}`);
  for (const [platform, digest] of Object.entries(r.platforms))
    lines.push(`  ${platform.padEnd(9)} ${digest}`);
  lines.push(
    `  uploaded  ${r.uploaded.blobs} blobs (${formatBytes(r.uploaded.bytes)})`,
    `  skipped   ${r.skipped.blobs} blobs (${formatBytes(r.skipped.bytes)}) already in the registry`,
  );
  if (r.mounted.blobs > 0)
    lines.push(
      `  mounted   ${r.mounted.blobs} blobs (${formatBytes(r.mounted.bytes)}) from other repositories`,
    );
  return lines.join("\n");
}

async function run(ctx: CliContext): Promise<number> {
  const args = parseVerbArgs("push", ctx.argv, options);
  const [layout, ...references] = args.positionals;
  if (!layout || references.length === 0) {
    throw new DistrolessError("E_CONFIG", `usage: ${verb.usage}`);
  }
  const registryOptions = await registryOptionsFromArgs(args, ctx);
  const tags = stringsFlag(args, "tag");
  const { dir, ref } = await splitLayoutArg(layout, ctx.cwd);
  const layoutRef = stringFlag(args, "ref") ?? ref;
  const results = await pushToRepositories(dir, references, {
    ...registryOptions,
    tags,
    ...(layoutRef !== undefined ? { layoutRef } : {}),
  });
  output(ctx, boolFlag(args, "json"), results, () => results.map(describePush).join("\n\n"));
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export const verb: Verb = {
  summary: "push an OCI image layout to registry repositories (uploads only what is missing)",
  usage:
    "pulumi-distroless push OCI_LAYOUT[:REF] REPO[:TAG]... [--ref REF] [--tag T]... [--json] [--insecure] [--ca-file F] [--username U --password-stdin]",
  flags: options,
  example: "pulumi-distroless push ./layout registry.example.com/team/app:v1",
  run,
};
