import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { DistrolessError } from "../util/errors";
import { credentialKeys } from "./reference";

/** Credentials given explicitly (a Pulumi secret input, CLI flags). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token realm. */
  identityToken?: string;
  /** A ready bearer token sent as is (no challenge handshake). */
  registryToken?: string;
}

/** Credentials plus where they came from, so an auth error can say which source to fix. */
export interface ResolvedCredentials extends RegistryAuth {
  source: string;
}

export interface CredentialLookupOptions {
  /** Directory holding `config.json`; default `$DOCKER_CONFIG`, else `~/.docker`. */
  dockerConfigDir?: string;
  /** Environment for `DOCKER_CONFIG`, `HOME` and the `PATH` credential helpers are found on. */
  env?: NodeJS.ProcessEnv;
}

interface DockerConfigFile {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }
  >;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/**
 * Finds credentials for `registry` the way the docker CLI does: a `credHelpers` entry for the host,
 * else the `credsStore` helper, else the `auths` entry. Nothing found means anonymous.
 */
export async function lookupCredentials(
  registry: string,
  options: CredentialLookupOptions = {},
): Promise<ResolvedCredentials | undefined> {
  const env = options.env ?? process.env;
  const dir = options.dockerConfigDir ?? env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), ".docker");
  const file = path.join(dir, "config.json");
  const config = await readDockerConfig(file);
  if (!config) return undefined;
  const keys = credentialKeys(registry);

  for (const key of keys) {
    const helper = config.credHelpers?.[key] ?? findNormalized(config.credHelpers ?? {}, key);
    if (helper) return runCredentialHelper(helper, key, env);
  }
  if (config.credsStore) {
    for (const key of keys) {
      const found = await runCredentialHelper(config.credsStore, key, env);
      if (found) return found;
    }
  }
  const auths = config.auths ?? {};
  for (const key of keys) {
    const entry = auths[key] ?? findNormalized(auths, key);
    if (entry) return fromAuthEntry(entry, `${file} (auths."${key}")`);
  }
  return undefined;
}

async function readDockerConfig(file: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DistrolessError("E_CONFIG", `cannot read docker config: ${(err as Error).message}`, {
      subject: file,
    });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as DockerConfigFile;
  } catch (err) {
    throw new DistrolessError("E_CONFIG", `docker config is not valid JSON: ${(err as Error).message}`, {
      subject: file,
    });
  }
}

/**
 * `auths` keys are often full URLs (`https://host:5000/v1/`); docker compares their host part. Host
 * names compare case-insensitively (`key` is already lower-case); addresses textually, as docker does.
 */
function findNormalized<T>(entries: Record<string, T>, key: string): T | undefined {
  for (const [k, v] of Object.entries(entries)) {
    const host = k
      .replace(/^[a-z]+:\/\//i, "")
      .replace(/\/.*$/, "")
      .toLowerCase();
    if (host === key) return v;
  }
  return undefined;
}

function fromAuthEntry(
  entry: NonNullable<DockerConfigFile["auths"]>[string],
  source: string,
): ResolvedCredentials | undefined {
  const out: ResolvedCredentials = { source };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw new DistrolessError("E_CONFIG", "the auth entry is not base64 of user:password", {
        subject: source,
      });
    }
    out.username = decoded.slice(0, colon);
    out.password = decoded.slice(colon + 1);
  } else {
    if (entry.username) out.username = entry.username;
    if (entry.password) out.password = entry.password;
  }
  if (entry.identitytoken) out.identityToken = entry.identitytoken;
  if (entry.registrytoken) out.registryToken = entry.registrytoken;
  const empty = !out.username && !out.password && !out.identityToken && !out.registryToken;
  return empty ? undefined : out;
}

/**
 * Runs `docker-credential-<helper> get` with the server on stdin (the helper protocol). A helper
 * that has nothing for the server answers "credentials not found"; that is not an error. Its stdout
 * holds the secret, so only its stderr ever reaches an error message.
 */
async function runCredentialHelper(
  helper: string,
  server: string,
  env: NodeJS.ProcessEnv,
): Promise<ResolvedCredentials | undefined> {
  const program = `docker-credential-${helper}`;
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    throw new DistrolessError("E_CONFIG", `invalid credential helper name "${helper}"`);
  }
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      // Loaded here: node:child_process (and the net/dgram it pulls in) only when a helper runs.
      const { spawn } = require("node:child_process") as typeof import("node:child_process");
      const child = spawn(program, ["get"], { env, stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let errText = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        errText += d;
      });
      child.on("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          err.code === "ENOENT"
            ? new DistrolessError("E_MISSING", `credential helper ${program} is not on PATH`, {
                subject: server,
              })
            : err,
        );
      });
      child.on("close", (c) => {
        clearTimeout(timer);
        resolve({ code: c, stdout: out, stderr: errText });
      });
      child.stdin.end(server);
    },
  );
  if (code !== 0) {
    const said = `${stderr} ${stdout}`;
    if (/credentials not found/i.test(said)) return undefined;
    const firstLine = stderr.trim().split("\n")[0]?.slice(0, 200) ?? "";
    throw new DistrolessError(
      "E_AUTH",
      `credential helper ${program} failed (exit ${code})${firstLine ? `: ${firstLine}` : ""}`,
      {
        subject: server,
      },
    );
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
  } catch {
    throw new DistrolessError("E_AUTH", `credential helper ${program} printed something that is not JSON`, {
      subject: server,
    });
  }
  const username = typeof parsed.Username === "string" ? parsed.Username : "";
  const secret = typeof parsed.Secret === "string" ? parsed.Secret : "";
  if (!secret) return undefined;
  const source = `credential helper ${program}`;
  // Docker's convention: the user name "<token>" marks the secret as an identity (refresh) token.
  if (username === "<token>") return { identityToken: secret, source };
  return { username, password: secret, source };
}
