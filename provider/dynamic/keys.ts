import * as path from "node:path";
import type { KeySource, RepositoryClient } from "../repository";
import { DistrolessError } from "../util/errors";

/** A trusted key as resources accept it: a path, a URL, or `{ name, pem }` (an ApkRepository's). */
export type KeyInput = string | { name: string; pem: string };

export function parseKeyInputs(value: unknown, field: string): KeyInput[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DistrolessError("E_CONFIG", `${field} must be a list of keys`);
  return value.map((k, i) => {
    if (typeof k === "string" && k !== "") return k;
    if (k && typeof k === "object" && typeof k.name === "string" && typeof k.pem === "string") {
      return { name: k.name, pem: k.pem };
    }
    throw new DistrolessError("E_CONFIG", `${field}[${i}] must be a path, a URL or { name, pem }`);
  });
}

/** Adds keys to the client's keyring; returns every trusted key's name with its PEM. */
export async function addKeys(
  client: RepositoryClient,
  keys: KeyInput[],
  baseDir: string,
): Promise<{ name: string; pem: string }[]> {
  const sources: KeySource[] = [];
  const inline: { name: string; pem: string }[] = [];
  for (const k of keys) {
    if (typeof k !== "string") inline.push(k);
    else if (/^https?:\/\//.test(k)) sources.push({ kind: "url", location: k });
    else sources.push({ kind: "local", location: path.resolve(baseDir, k) });
  }
  let ring = client.keyring;
  if (sources.length) ring = await client.addKeys(sources);
  if (inline.length) {
    if (!ring) ring = await client.addKeys([]);
    for (const k of inline) ring.add(k.name, k.pem);
  }
  return ring ? ring.names().map((name) => ({ name, pem: ring.pem(name)! })) : [];
}
