import { type ChildProcess, spawn } from "node:child_process";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { DistrolessError } from "../../util/errors";

const BINARY = "/usr/bin/docker-registry";

/**
 * The demo's registry: Debian's CNCF distribution registry on 127.0.0.1, storing under the demo's
 * work directory so a second run finds the blobs the first one pushed.
 */
export async function startDemoRegistry(
  workDir: string,
  port: number,
): Promise<{ host: string; stop(): Promise<void> }> {
  const dir = path.join(workDir, "registry");
  await fsp.mkdir(path.join(dir, "storage"), { recursive: true });
  const config = path.join(dir, "config.yml");
  await fsp.writeFile(
    config,
    [
      "version: 0.1",
      "log: { level: error }",
      "storage:",
      `  filesystem: { rootdirectory: ${JSON.stringify(path.join(dir, "storage"))} }`,
      "  delete: { enabled: true }",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  await fsp.access(BINARY).catch(() => {
    throw new DistrolessError(
      "E_MISSING",
      "the demo pushes to a local registry: install docker-registry (scripts/setup.sh does)",
      {
        subject: BINARY,
      },
    );
  });
  const log = await fsp.open(path.join(dir, "registry.log"), "a");
  const child: ChildProcess = spawn(BINARY, ["serve", config], { stdio: ["ignore", log.fd, log.fd] });
  const host = `127.0.0.1:${port}`;
  // However the demo ends (an error thrown deep in a program run included), the registry goes too.
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    await log.close();
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await log.close();
      throw new DistrolessError(
        "E_MISSING",
        `the registry exited (port ${port} in use? see ${dir}/registry.log)`,
      );
    }
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    // An answer while our registry has died came from whoever took the port after our probe.
    if (ok && child.exitCode === null) return { host, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new DistrolessError("E_NETWORK", `the registry did not come up on ${host}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
