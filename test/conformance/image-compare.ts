/**
 * Entry-level comparison of two builds of one config: every layer entry (path, type, mode, owner,
 * names, size, content hash, link target, device numbers, mtime, PAX records) and the entry order,
 * the image config fields, the lock and the SBOM's package set. Each difference is a `where`
 * (a layer path, or `config:`/`lock:`/`sbom:` plus a field) and a `field`, so the documented
 * divergences in docs/conformance.md can be matched against it.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { projectRoot } from "../helpers/fixtures";
import type { BuildOutput } from "./image-builds";

export interface Difference {
  caseName: string;
  where: string;
  field: string;
  apko: string;
  ours: string;
}

type EntryView = Record<string, string>;

/** For a small text file, the first line that differs (what a failure should show); else the hash. */
function firstDifference(a: Buffer, b: Buffer): [string, string] | undefined {
  if (a.length > 64 << 10 || b.length > 64 << 10 || a.includes(0) || b.includes(0)) return undefined;
  const la = a.toString("utf8").split("\n");
  const lb = b.toString("utf8").split("\n");
  const i = la.findIndex((l, n) => l !== lb[n]);
  const at = i < 0 ? la.length : i;
  return [`line ${at + 1}: ${la[at] ?? "(end)"}`, `line ${at + 1}: ${lb[at] ?? "(end)"}`];
}

let bodies = new Map<string, Buffer>();

async function entriesOf(layer: Buffer): Promise<Map<string, EntryView>> {
  const out = new Map<string, EntryView>();
  for (const { header: h, data } of await readTarBuffer(layer, { maxEntryBytes: 1 << 30 })) {
    bodies.set(h.name, data);
    out.set(h.name, {
      type: h.type,
      mode: `0${h.mode.toString(8)}`,
      uid: String(h.uid),
      gid: String(h.gid),
      uname: h.uname,
      gname: h.gname,
      size: String(h.size),
      content: h.type === "file" ? createHash("sha256").update(data).digest("hex").slice(0, 16) : "",
      linkname: h.linkname,
      mtime: String(h.mtime),
      device: h.type === "chardev" || h.type === "blockdev" ? `${h.devmajor},${h.devminor}` : "",
      pax: JSON.stringify(
        Object.entries(h.pax)
          .filter(([k]) => k !== "path" && k !== "linkpath" && k !== "size")
          .sort(([a], [b]) => (a < b ? -1 : 1)),
      ),
    });
  }
  return out;
}

/** The config fields a runtime sees (author/history name the tool, and are compared apart). */
const CONFIG_FIELDS = ["architecture", "os", "variant", "created"] as const;
const RUNTIME_FIELDS = [
  "Entrypoint",
  "Cmd",
  "Env",
  "User",
  "WorkingDir",
  "Volumes",
  "StopSignal",
  "Labels",
] as const;

export async function compareBuilds(
  caseName: string,
  apko: BuildOutput,
  ours: BuildOutput,
): Promise<Difference[]> {
  const diffs: Difference[] = [];
  const add = (where: string, field: string, a: unknown, o: unknown) =>
    diffs.push({ caseName, where, field, apko: String(a ?? ""), ours: String(o ?? "") });

  for (const platform of new Set([...apko.images.keys(), ...ours.images.keys()])) {
    const a = apko.images.get(platform);
    const o = ours.images.get(platform);
    if (!a || !o) {
      add(`image:${platform}`, "present", a ? "yes" : "no", o ? "yes" : "no");
      continue;
    }
    bodies = new Map();
    const ae = await entriesOf(a.layer);
    const aBodies = bodies;
    bodies = new Map();
    const oe = await entriesOf(o.layer);
    const oBodies = bodies;
    const aNames = [...ae.keys()];
    const oNames = [...oe.keys()];
    for (const name of new Set([...aNames, ...oNames])) {
      const x = ae.get(name);
      const y = oe.get(name);
      if (!x || !y) {
        add(name, "present", x ? x.type : "absent", y ? y.type : "absent");
        continue;
      }
      for (const field of Object.keys(x)) {
        if (x[field] === y[field]) continue;
        const text =
          field === "content" ? firstDifference(aBodies.get(name)!, oBodies.get(name)!) : undefined;
        add(name, field, text ? text[0] : x[field], text ? text[1] : y[field]);
      }
    }
    const common = aNames.filter((n) => oe.has(n));
    const commonOurs = oNames.filter((n) => ae.has(n));
    const firstOff = common.findIndex((n, i) => commonOurs[i] !== n);
    if (firstOff >= 0)
      add(
        common[firstOff]!,
        "order",
        `before ${common[firstOff + 1] ?? "end"}`,
        `${commonOurs[firstOff]} here`,
      );

    const ac = (a.config.config ?? {}) as Record<string, unknown>;
    const oc = (o.config.config ?? {}) as Record<string, unknown>;
    for (const f of CONFIG_FIELDS) {
      if (JSON.stringify(a.config[f]) !== JSON.stringify(o.config[f]))
        add(`config:${platform}`, f, JSON.stringify(a.config[f]), JSON.stringify(o.config[f]));
    }
    for (const f of RUNTIME_FIELDS) {
      if (JSON.stringify(ac[f]) !== JSON.stringify(oc[f]))
        add(`config:${platform}`, f, JSON.stringify(ac[f]), JSON.stringify(oc[f]));
    }
  }

  for (const arch of new Set([...apko.lock.keys(), ...ours.lock.keys()])) {
    const show = (l: BuildOutput["lock"]) =>
      (l.get(arch) ?? []).map((p) => `${p.name}=${p.version} ${p.checksum}`).join(", ");
    if (show(apko.lock) !== show(ours.lock))
      add(`lock:${arch}`, "packages", show(apko.lock), show(ours.lock));
  }
  for (const [arch, listed] of apko.sbom) {
    const installed = new Set((ours.lock.get(arch) ?? []).map((p) => `${p.name}=${p.version}`));
    const oursListed = ours.sbom.get(arch) ?? new Set<string>();
    // apko lists only packages that embed an SPDX document; ours lists every installed package.
    const missing = [...listed].filter((p) => !oursListed.has(p));
    const notInstalled = [...oursListed].filter((p) => !installed.has(p));
    const unlisted = [...installed].filter((p) => !oursListed.has(p));
    if (missing.length || notInstalled.length || unlisted.length) {
      add(`sbom:${arch}`, "packages", [...listed].join(", "), [...oursListed].join(", "));
    }
  }
  return diffs;
}

export interface Divergence {
  where: string;
  field: string;
  cases: string;
  reason: string;
}

/** `*` matches any run of characters (slashes included); everything else literally. */
function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
}

/**
 * The Images section's divergence table of docs/conformance.md: rows
 * `| where | field | cases | reason |`, each cell in backticks except the reason.
 */
export function documentedDivergences(file = path.join(projectRoot, "docs", "conformance.md")): Divergence[] {
  const text = readFileSync(file, "utf8");
  const images = text.split(/^## /m).find((s) => s.startsWith("Images"));
  if (!images) throw new Error(`${file} has no "## Images" section`);
  const rows: Divergence[] = [];
  for (const line of images.split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|(.+)\|\s*$/.exec(line);
    if (m) rows.push({ where: m[1]!, field: m[2]!, cases: m[3]!, reason: m[4]!.trim() });
  }
  return rows;
}

export function isDocumented(d: Difference, table: Divergence[]): Divergence | undefined {
  return table.find(
    (r) => glob(r.where).test(d.where) && glob(r.field).test(d.field) && glob(r.cases).test(d.caseName),
  );
}
