import { parseRepositorySource, RepositoryClient } from "../repository";
import { digestOf } from "../util/canonical";
import { DistrolessError, errorMessage } from "../util/errors";
import type { OperationContext, Props } from "./define";
import { addKeys, parseKeyInputs } from "./keys";

/** Archs probed when a remote repository's `archs` are not given; missing ones are skipped. */
const DEFAULT_ARCHS = ["x86_64", "aarch64"];

async function load(inputs: Props, ctx?: OperationContext) {
  const url = String(inputs.url);
  const source = parseRepositorySource(url);
  const client = new RepositoryClient({
    ...(typeof inputs.cacheDir === "string" ? { cacheDir: inputs.cacheDir } : {}),
    ...(ctx ? { progress: ctx.progress } : {}),
  });
  const keys = await addKeys(client, parseKeyInputs(inputs.keys, "keys"), process.cwd());
  if (keys.length === 0) {
    throw new DistrolessError("E_CONFIG", "an existing repository needs `keys` (its trusted public keys)", {
      subject: url,
    });
  }
  const explicit = Array.isArray(inputs.archs) ? inputs.archs.map(String) : undefined;
  const indexes: Record<string, { digest: string; packages: string[] }> = {};
  for (const arch of explicit ?? DEFAULT_ARCHS) {
    try {
      const idx = await client.loadIndex(source, arch);
      indexes[arch] = {
        digest: `sha256:${idx.sha256}`,
        packages: idx.entries.map((e) => `${e.name}-${e.version}`),
      };
    } catch (err) {
      if (explicit) throw err;
      ctx?.progress.info(`no ${arch} index at ${url} (${errorMessage(err)}); skipped`);
    }
  }
  if (Object.keys(indexes).length === 0) {
    throw new DistrolessError("E_MISSING", `no index for ${DEFAULT_ARCHS.join(" or ")}; set archs`, {
      subject: url,
    });
  }
  const digests = Object.fromEntries(Object.entries(indexes).map(([a, i]) => [a, i.digest]));
  // The identity of a remote repository is what its indexes hold right now.
  const inputDigest = digestOf({ kind: "remote", url, keys, indexes: digests });
  return { url, keys, indexes, digests, inputDigest };
}

/** ApkRepository over an existing repository: read only; its identity is its indexes' digests. */
export const remoteRepository = {
  async resolve(news: Props): Promise<{ inputDigest: string; indexes: Record<string, string> }> {
    const { digests, inputDigest } = await load(news);
    return { inputDigest, indexes: digests };
  },

  async describe(inputs: Props, ctx: OperationContext): Promise<Props> {
    const { url, keys, indexes, digests, inputDigest } = await load(inputs, ctx);
    return {
      resourceName: inputs.resourceName,
      url,
      keyName: keys[0]!.name,
      publicKey: keys[0]!.pem,
      indexes,
      archs: Object.keys(indexes),
      reference: { url, keys, digest: digestOf(digests) },
      inputDigest,
      created: false,
    };
  },

  async refresh(props: Props, ctx: OperationContext): Promise<Props> {
    return this.describe({ ...props, keys: (props.reference as { keys: unknown }).keys }, ctx);
  },
};
