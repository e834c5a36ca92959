import { DistrolessError } from "../util/errors";

/** Basic-auth credentials for one host. Never logged, never part of an error message. */
export interface BasicCredentials {
  username: string;
  password: string;
}

/** Credentials by host name (`packages.example.com`, or `host:port` when a port is given). */
export type HostCredentials = Record<string, BasicCredentials>;

/**
 * Reads apko's `HTTP_AUTH` variable: `basic:HOST:USER:PASS` (the password may itself contain
 * colons). Several entries may be given separated by newlines. An unusable value is an error that
 * names the variable and the entry's position, never its content.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): HostCredentials {
  const value = env.HTTP_AUTH;
  const out: HostCredentials = {};
  if (!value) return out;
  const entries = value.split(/\r?\n/).filter((l) => l.trim() !== "");
  entries.forEach((entry, i) => {
    const parts = entry.trim().split(":");
    const [scheme, host, username] = parts;
    const password = parts.slice(3).join(":");
    if (parts.length < 4 || scheme !== "basic" || !host || !username) {
      throw new DistrolessError(
        "E_CONFIG",
        `HTTP_AUTH entry ${i + 1} is not "basic:HOST:USER:PASS" (the value is not shown, it holds a secret)`,
      );
    }
    out[host.toLowerCase()] = { username, password };
  });
  return out;
}

/**
 * The credentials for a URL: user info in the URL itself wins, then an entry for `host:port`, then
 * one for the bare host name (apko matches on the host only).
 */
export function credentialsFor(url: URL, creds: HostCredentials): BasicCredentials | undefined {
  if (url.username) {
    return { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  }
  const host = url.host.toLowerCase();
  return creds[host] ?? creds[url.hostname.toLowerCase()];
}

export function basicAuthHeader(c: BasicCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, "utf8").toString("base64")}`;
}
