/**
 * A separate process for the cache-sharing tests: loads an index and fetches one package into a
 * cache directory, then prints what it got as JSON. Usage: node fetch-worker.js '<json args>'.
 */
import { Keyring } from "../../provider/apk/keys";
import { RepositoryClient } from "../../provider/repository/client";
import { parseRepositorySource } from "../../provider/repository/source";

interface Args {
  repo: string;
  arch: string;
  name: string;
  cacheDir: string;
  keyFile: string;
}

async function run(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as Args;
  const client = new RepositoryClient({
    cacheDir: args.cacheDir,
    keyring: await Keyring.fromPaths([args.keyFile]),
    env: {},
    retry: { attempts: 3, baseDelayMs: 10 },
  });
  const source = parseRepositorySource(args.repo);
  const index = await client.loadIndex(source, args.arch);
  const e = index.entries.find((x) => x.name === args.name)!;
  const got = await client.fetchPackage({
    name: e.name,
    version: e.version,
    arch: args.arch,
    checksum: e.checksum,
    size: e.size,
    source,
  });
  process.stdout.write(
    `${JSON.stringify({ origin: got.origin, path: got.path, datahash: got.data?.datahash })}\n`,
  );
}

run().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
});
