import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/**
 * Writes a docker `config.json` into `dir` (a stand-in `DOCKER_CONFIG`) and, for `helpers`, a
 * `docker-credential-<name>` shell script into `dir/bin` speaking the helper protocol: it reads the
 * server on stdin and prints `{ServerURL, Username, Secret}`, or fails with "credentials not found".
 * Every server the helper is asked about is appended to `dir/bin/<name>.log`.
 */
export function writeDockerConfig(
  dir: string,
  config: Record<string, unknown>,
  helpers: Record<string, Record<string, { username: string; secret: string }>> = {},
): { configDir: string; binDir: string; env: NodeJS.ProcessEnv } {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  const binDir = path.join(dir, "bin");
  mkdirSync(binDir, { recursive: true });
  for (const [name, servers] of Object.entries(helpers)) {
    const cases = Object.entries(servers)
      .map(
        ([server, c]) =>
          `  ${JSON.stringify(server)}) printf '%s' ${shellQuote(JSON.stringify({ ServerURL: server, Username: c.username, Secret: c.secret }))} ;;`,
      )
      .join("\n");
    const script = `#!/bin/sh
# docker credential helper protocol: "get" reads the server URL on stdin.
[ "$1" = get ] || { echo "unsupported action $1" >&2; exit 1; }
read -r server || true
echo "$server" >> ${shellQuote(path.join(binDir, `${name}.log`))}
case "$server" in
${cases}
  *) echo "credentials not found in native keychain" >&2; exit 1 ;;
esac
`;
    writeFileSync(path.join(binDir, `docker-credential-${name}`), script, { mode: 0o755 });
  }
  return {
    configDir: dir,
    binDir,
    env: { ...process.env, DOCKER_CONFIG: dir, PATH: `${binDir}:${process.env.PATH ?? ""}` },
  };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
