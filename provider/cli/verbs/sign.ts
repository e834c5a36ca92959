import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { parseReference } from "../../registry";
import { type SignedObject, signImage, signingTargets } from "../../sign/attach";
import { type ImageSigningKey, loadImageSigningKey } from "../../sign/keys";
import { DistrolessError } from "../../util/errors";
import {
  boolFlag,
  type CliContext,
  envNamedByFlag,
  type FlagTable,
  output,
  type ParsedVerbArgs,
  parseVerbArgs,
  stringFlag,
  type Verb,
} from "../command";
import { registryFlagOptions, registryOptionsFromArgs } from "./push";

/** The flags of any verb that signs (`build --push` spreads these into its own options). */
export const signFlagOptions = {
  "sign-key": {
    type: "string",
    value: "KEY",
    help: "with --push: sign the image and attest its SBOMs (cosign.key or PEM)",
  },
  "sign-password-env": {
    type: "string",
    value: "VAR",
    help: "variable holding the key's password (default COSIGN_PASSWORD)",
  },
} as const satisfies FlagTable;

/**
 * The key from `--sign-key FILE` (or `--key`), its password from `--sign-password-env VAR`, else
 * `COSIGN_PASSWORD` (as cosign reads it); undefined without a key flag.
 */
export async function signingKeyFromArgs(
  ctx: CliContext,
  args: ParsedVerbArgs,
  keyFlag: "sign-key" | "key",
): Promise<ImageSigningKey | undefined> {
  const file = stringFlag(args, keyFlag);
  if (!file) return undefined;
  const keyFile = path.resolve(ctx.cwd, file);
  const pem = await fsp.readFile(keyFile, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new DistrolessError("E_MISSING", `cannot read the signing key: ${err.code ?? err.message}`, {
      subject: keyFile,
    });
  });
  const password = envNamedByFlag(args, "sign-password-env", ctx.env) ?? ctx.env.COSIGN_PASSWORD;
  return loadImageSigningKey(pem, password, keyFile);
}

const FLAGS = {
  ...registryFlagOptions,
  key: { type: "string", value: "KEY", help: "cosign.key or PEM private key" },
  "sign-password-env": {
    type: "string",
    value: "VAR",
    help: "variable holding the key's password (default COSIGN_PASSWORD)",
  },
  "no-recursive": { type: "boolean", help: "sign the index only, not each platform manifest" },
  json: { type: "boolean", help: "print the result as JSON" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "sign images in a registry with a cosign key (cosign's .sig scheme; keyed, offline)",
  usage:
    "pulumi-distroless sign REPO[:TAG|@DIGEST]... --key KEY [--sign-password-env VAR] [--no-recursive] " +
    "[--json] [--insecure] [--ca-file F] [--username U --password-stdin]",
  flags: FLAGS,
  example: "pulumi-distroless sign registry.example.com/team/app:v1 --key cosign.key",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("sign", ctx.argv, FLAGS);
    if (args.positionals.length === 0) throw new DistrolessError("E_CONFIG", `usage: ${verb.usage}`);
    const key = await signingKeyFromArgs(ctx, args, "key");
    if (!key)
      throw new DistrolessError("E_CONFIG", "--key KEY is required (a cosign.key or a PEM private key)");
    const registryOptions = await registryOptionsFromArgs(args, ctx);
    const results: { reference: string; signatures: SignedObject[] }[] = [];
    for (const reference of args.positionals) {
      const targets = await signingTargets(reference, registryOptions);
      const digests = boolFlag(args, "no-recursive") ? targets.slice(0, 1) : targets;
      const signed = await signImage({ ...registryOptions, reference, key, digests });
      const ref = parseReference(reference);
      results.push({ reference: `${ref.registry}/${ref.repository}@${targets[0]}`, signatures: signed });
    }
    output(ctx, boolFlag(args, "json"), results, () =>
      results
        .map((r) =>
          [
            r.reference,
            ...r.signatures.map((s) => `  ${s.written ? "signed " : "already"} ${s.subject} -> ${s.tag}`),
          ].join("\n"),
        )
        .join("\n\n"),
    );
    return 0;
  },
};
