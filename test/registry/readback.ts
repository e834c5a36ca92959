import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { OciLayout } from "../../provider/image/oci-layout";
import type { TestImage } from "../helpers/oci-test-image";
import { REGISTRY_BINARY } from "../helpers/registry-server";

const run = promisify(execFile);

/**
 * Independent clients reading back what we pushed: skopeo (containers/image) fetches manifests and
 * copies the image out, umoci unpacks it into a runtime bundle, runc runs it.
 */
export interface RegistryAccess {
  /** Directory with `ca.crt` for a TLS registry; plain-HTTP registries get `--tls-verify=false`. */
  certDir?: string;
  creds?: { username: string; password: string };
}

const TOOLS = ["skopeo", "umoci", "runc", REGISTRY_BINARY];

function onPath(tool: string): boolean {
  if (tool.startsWith("/")) return existsSync(tool);
  return (process.env.PATH ?? "").split(":").some((d) => existsSync(path.join(d, tool)));
}

/**
 * `{ skip }` for a test needing tools that are not installed; on CI a missing tool is a failure,
 * not a skip, so a green CI always means the tests ran.
 */
export function needsTools(...extra: string[]): { skip?: string } {
  const missing = [...TOOLS, ...extra].filter((t) => !onPath(t));
  if (missing.length === 0) return {};
  if (process.env.CI) throw new Error(`tools missing on CI: ${missing.join(", ")}`);
  return { skip: `missing ${missing.join(", ")}` };
}

function accessArgs(access: RegistryAccess, prefix: "" | "src-"): string[] {
  const args = access.certDir ? [`--${prefix}cert-dir=${access.certDir}`] : [`--${prefix}tls-verify=false`];
  if (access.creds) args.push(`--${prefix}creds=${access.creds.username}:${access.creds.password}`);
  return args;
}

/** `skopeo inspect --raw docker://REF`: the manifest bytes exactly as the registry serves them. */
export async function skopeoInspectRaw(reference: string, access: RegistryAccess = {}): Promise<Buffer> {
  const { stdout } = await run(
    "skopeo",
    ["inspect", "--raw", ...accessArgs(access, ""), `docker://${reference}`],
    {
      encoding: "buffer",
      maxBuffer: 16 << 20,
    },
  );
  return stdout;
}

/**
 * Copies `reference` out with skopeo into an OCI layout, unpacks it with umoci and runs it with
 * runc (non-interactive); returns what the container printed.
 */
export async function runPushedImage(
  reference: string,
  workDir: string,
  access: RegistryAccess = {},
): Promise<string> {
  mkdirSync(workDir, { recursive: true });
  const layout = path.join(workDir, "copied");
  const bundle = path.join(workDir, "bundle");
  await run("skopeo", ["copy", ...accessArgs(access, "src-"), `docker://${reference}`, `oci:${layout}:run`], {
    maxBuffer: 16 << 20,
  });
  await run("umoci", ["unpack", "--image", `${layout}:run`, bundle]);
  const configFile = path.join(bundle, "config.json");
  const spec = JSON.parse(readFileSync(configFile, "utf8")) as { process: { terminal?: boolean } };
  spec.process.terminal = false;
  writeFileSync(configFile, JSON.stringify(spec));
  const id = `pd-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const { stdout } = await run("runc", ["run", "--bundle", bundle, id], { timeout: 60_000 });
  return stdout.trim();
}

/** The bytes of `digest` in an image's layout: what the registry must serve back unchanged. */
export function layoutBlob(image: Pick<TestImage, "layoutDir">, digest: string): Buffer {
  return readFileSync(new OciLayout(image.layoutDir).blobPath(digest));
}

/** skopeo reads back the layout's exact index bytes at `reference`, and runc runs the image. */
export async function assertServedAndRuns(
  reference: string,
  image: TestImage,
  workDir: string,
  access: RegistryAccess = {},
): Promise<void> {
  const raw = await skopeoInspectRaw(reference, access);
  assert.ok(raw.equals(layoutBlob(image, image.indexDigest)), "skopeo must see our index bytes");
  assert.equal(await runPushedImage(reference, workDir, access), image.expectedOutput);
}
