import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Agent, request } from "undici";
import YAML from "yaml";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export type RegistryAuthConfig =
  | { kind: "none" }
  | { kind: "htpasswd"; users: Record<string, string> }
  | { kind: "token"; realm: string; service: string; issuer: string; rootCertBundlePem: string };

export interface StartRegistryOptions {
  auth?: RegistryAuthConfig;
  /** Serve HTTPS with this certificate (PEM) and key. */
  tls?: { certPem: string; keyPem: string };
  /** Reuse a port (a restart keeps the address clients already hold). */
  port?: number;
  /** Reuse a storage directory (a restart keeps the blobs and upload sessions). */
  storageDir?: string;
}

/**
 * A real CNCF distribution registry (`/usr/bin/docker-registry`, Debian's docker-registry 2.8) on
 * 127.0.0.1 with a free port and a temp storage directory. Always `stop()` it (tests do so in
 * `after`); every process still running when this Node process exits is killed, so none outlive it.
 */
export interface RegistryServer {
  /** `127.0.0.1:PORT`: the registry part of references. */
  host: string;
  port: number;
  url: string;
  storageDir: string;
  /** Directory with the config, htpasswd file and log. */
  workDir: string;
  logFile: string;
  /** SIGKILL: the registry dies mid-request, as in a crash. */
  kill(): Promise<void>;
  /** Start again on the same port and storage (after `kill`). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of running) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/** A port nobody listens on right now (bound and released; the registry takes it next). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A bcrypt htpasswd line made by Apache's `htpasswd` (Debian apache2-utils). */
function htpasswdLine(user: string, password: string): string {
  try {
    return execFileSync("htpasswd", ["-nbB", "-C", "5", user, password], { encoding: "utf8" }).trim();
  } catch (err) {
    throw new Error(
      `htpasswd (Debian package apache2-utils) is needed for the basic-auth registry: ${(err as Error).message}`,
    );
  }
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryServer> {
  installExitHook();
  for (let attempt = 1; ; attempt++) {
    const workDir = mkdtempSync(path.join(os.tmpdir(), "pd-registry-"));
    const port = options.port ?? (await freePort());
    try {
      return await startOn(options, port, workDir);
    } catch (err) {
      rmSync(workDir, { recursive: true, force: true });
      // Another process may take the free port between our probe and the registry's bind.
      const portTaken = /address already in use/.test(String(err));
      if (!portTaken || options.port !== undefined || attempt >= 3) throw err;
    }
  }
}

async function startOn(
  options: StartRegistryOptions,
  port: number,
  workDir: string,
): Promise<RegistryServer> {
  const storageDir = options.storageDir ?? path.join(workDir, "storage");
  mkdirSync(storageDir, { recursive: true });
  const logFile = path.join(workDir, "registry.log");

  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: "info", accesslog: { disabled: true }, formatter: "text" },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      // Upload purging would race our resume tests; sessions are kept.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `127.0.0.1:${port}`,
      // A fixed secret keeps upload session URLs valid across a restart.
      secret: "pulumi-distroless-test-secret",
      headers: { "X-Content-Type-Options": ["nosniff"] },
    },
  };
  const http = config.http as Record<string, unknown>;
  if (options.tls) {
    writeFileSync(path.join(workDir, "server.crt"), options.tls.certPem);
    writeFileSync(path.join(workDir, "server.key"), options.tls.keyPem, { mode: 0o600 });
    http.tls = { certificate: path.join(workDir, "server.crt"), key: path.join(workDir, "server.key") };
  }
  const auth = options.auth ?? { kind: "none" };
  if (auth.kind === "htpasswd") {
    const file = path.join(workDir, "htpasswd");
    writeFileSync(
      file,
      `${Object.entries(auth.users)
        .map(([u, p]) => htpasswdLine(u, p))
        .join("\n")}\n`,
    );
    config.auth = { htpasswd: { realm: "pd-test", path: file } };
  } else if (auth.kind === "token") {
    const bundle = path.join(workDir, "token-roots.pem");
    writeFileSync(bundle, auth.rootCertBundlePem);
    config.auth = {
      token: { realm: auth.realm, service: auth.service, issuer: auth.issuer, rootcertbundle: bundle },
    };
  }
  const configFile = path.join(workDir, "config.yml");
  writeFileSync(configFile, YAML.stringify(config));

  const scheme = options.tls ? "https" : "http";
  const url = `${scheme}://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const log = openSync(logFile, "a");
    child = spawn(REGISTRY_BINARY, ["serve", configFile], { stdio: ["ignore", log, log] });
    closeSync(log); // the child holds its own copy
    running.add(child);
    const proc = child;
    proc.on("exit", () => running.delete(proc));
    await waitUntilServing(url, proc, logFile);
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    host: `127.0.0.1:${port}`,
    port,
    url,
    storageDir,
    workDir,
    logFile,
    kill: () => terminate("SIGKILL"),
    restart: async () => {
      await terminate("SIGKILL");
      await launch();
    },
    stop: async () => {
      await terminate("SIGTERM");
      if (!options.storageDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Polls `/v2/` until the registry answers (any HTTP status: 401 means it is up and wants auth). */
async function waitUntilServing(url: string, proc: ChildProcess, logFile: string): Promise<void> {
  // Readiness only: whether clients trust the certificate is what the tests themselves check.
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    for (let i = 0; i < 300; i++) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`docker-registry exited (${proc.exitCode ?? proc.signalCode}):\n${tail(logFile)}`);
      }
      try {
        const res = await request(`${url}/v2/`, { dispatcher: agent });
        await res.body.dump();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    proc.kill("SIGKILL");
    throw new Error(`docker-registry did not answer at ${url}/v2/ within 15 s:\n${tail(logFile)}`);
  } finally {
    await agent.close();
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "(no log)";
  }
}
