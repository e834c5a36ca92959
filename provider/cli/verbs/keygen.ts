import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { generateSigningKey, writeKeyPair } from "../../apk/keys";
import { DistrolessError } from "../../util/errors";
import { pathExists } from "../../util/fs";
import { boolFlag, type CliContext, output, parseVerbArgs, stringFlag, type Verb } from "../command";

export const verb: Verb = {
  summary: "generate an RSA 4096 apk signing key pair (NAME and NAME.pub)",
  usage: "pulumi-distroless keygen [--out DIR] [--name NAME] [--bits N] [--force] [--json]",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("keygen", ctx.argv, {
      out: { type: "string" },
      name: { type: "string" },
      bits: { type: "string" },
      force: { type: "boolean" },
      json: { type: "boolean" },
    });
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
