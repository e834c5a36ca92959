import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { generateSigningKey, writeKeyPair } from "../../apk/keys";
import { generateCosignKeyPair } from "../../sign/keys";
import { DistrolessError } from "../../util/errors";
import { pathExists } from "../../util/fs";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  output,
  type ParsedVerbArgs,
  parseVerbArgs,
  stringFlag,
  type Verb,
} from "../command";

const FLAGS = {
  out: { type: "string", value: "DIR", help: "directory to write the pair into (default .)" },
  name: {
    type: "string",
    value: "NAME",
    help: "private key file name; the public key is NAME.pub (default melange.rsa)",
  },
  bits: { type: "string", value: "N", help: "RSA modulus size (default 4096)" },
  force: { type: "boolean", help: "replace an existing key pair" },
  json: { type: "boolean", help: "print the result as JSON" },
  cosign: { type: "boolean", help: "write a cosign image signing pair (cosign.key, cosign.pub) instead" },
  "sign-password-env": {
    type: "string",
    value: "VAR",
    help: "with --cosign: variable holding the password (default COSIGN_PASSWORD)",
  },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "generate an RSA 4096 apk signing key pair (NAME and NAME.pub), or a cosign image signing pair",
  usage:
    "pulumi-distroless keygen [--out DIR] [--name NAME] [--bits N] [--force] [--json] | " +
    "keygen --cosign [--out DIR] [--sign-password-env VAR] (cosign.key, encrypted with COSIGN_PASSWORD, and cosign.pub)",
  flags: FLAGS,
  example: "pulumi-distroless keygen --name melange.rsa",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("keygen", ctx.argv, FLAGS);
    if (boolFlag(args, "cosign")) return cosignKeygen(ctx, args);
    const dir = path.resolve(ctx.cwd, stringFlag(args, "out") ?? ".");
    const name = stringFlag(args, "name") ?? "melange.rsa";
    if (name.includes("/"))
      throw new DistrolessError("E_CONFIG", `--name must be a file name, not a path: ${name}`);
    const bits = Number(stringFlag(args, "bits") ?? 4096);
    const target = path.join(dir, name);
    if (!boolFlag(args, "force") && ((await pathExists(target)) || (await pathExists(`${target}.pub`)))) {
      throw new DistrolessError("E_CONFIG", "a key already exists there (use --force to replace it)", {
        subject: target,
      });
    }
    await fsp.mkdir(dir, { recursive: true });
    const files = await writeKeyPair(dir, name, await generateSigningKey(bits));
    output(ctx, boolFlag(args, "json"), { ...files, keyName: path.basename(files.publicKeyFile), bits }, () =>
      [
        `private key: ${files.privateKeyFile} (mode 0600; keep it secret)`,
        `public key:  ${files.publicKeyFile}`,
      ].join("\n"),
    );
    return 0;
  },
};

/** `cosign generate-key-pair`'s output: cosign.key (encrypted, 0600) and cosign.pub. */
async function cosignKeygen(ctx: CliContext, args: ParsedVerbArgs): Promise<number> {
  const dir = path.resolve(ctx.cwd, stringFlag(args, "out") ?? ".");
  const name = stringFlag(args, "name") ?? "cosign";
  const envName = stringFlag(args, "sign-password-env") ?? "COSIGN_PASSWORD";
  const password = ctx.env[envName];
  if (password === undefined) {
    throw new DistrolessError(
      "E_CONFIG",
      `set ${envName} to the password that encrypts the key (it may be empty)`,
    );
  }
  const keyFile = path.join(dir, `${name}.key`);
  const pubFile = path.join(dir, `${name}.pub`);
  if (!boolFlag(args, "force") && ((await pathExists(keyFile)) || (await pathExists(pubFile)))) {
    throw new DistrolessError("E_CONFIG", "a key already exists there (use --force to replace it)", {
      subject: keyFile,
    });
  }
  const pair = generateCosignKeyPair(password);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(keyFile, pair.privateKeyPem, { mode: 0o600 });
  await fsp.writeFile(pubFile, pair.publicKeyPem);
  output(ctx, boolFlag(args, "json"), { privateKeyFile: keyFile, publicKeyFile: pubFile }, () =>
    [`private key: ${keyFile} (mode 0600, encrypted)`, `public key:  ${pubFile}`].join("\n"),
  );
  return 0;
}
