import { dependencyVersionMatches, parseDependency } from "../apk/dependency";
import type { PkgInfo } from "../apk/pkginfo";
import { DistrolessError } from "../util/errors";
import { sha1Hex } from "../util/hash";
import { INSTALLED_PATH } from "./base-layout";
import type { ContentStore } from "./content-store";
import {
  type CompressorFactory,
  estimatedEntrySize,
  estimatedTarSize,
  type LayerBytesListener,
  type LayerEntry,
  type LayerNames,
  layerEntries,
  type WrittenLayer,
  writeLayerEntries,
} from "./layer";
import { LayerWriter } from "./layer-writer";
import type { FsTree } from "./tree";

/**
 * apko's `origin` layering (v1.2.37, docs/layering.md): the image is installed as one tree as
 * usual, then its entries are partitioned: packages grouped by origin (and by `replaces`, so a
 * replacer and its replacee share a layer), the `budget - 1` biggest groups keep a layer each,
 * the rest share one more, and everything no package installed goes to a final top layer. Each
 * package layer repeats the directories above its files (with the file's mtime, so the layer does
 * not depend on other packages) and holds the installed-database records of its own packages.
 */

export interface LayerGroup {
  /** Package names, sorted (apko sorts them for a consistent order). */
  packages: string[];
  /** Sum of the packages' installed sizes (the sort key). */
  size: number;
}

interface Group {
  pkgs: PkgInfo[];
  size: number;
  /** The greatest package name: orders groups of equal size. */
  tiebreaker: string;
}

const byteCompare = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
const maxString = (a: string, b: string): string => (byteCompare(a, b) >= 0 ? a : b);

function merge(...groups: Group[]): Group {
  const merged: Group = { pkgs: [], size: 0, tiebreaker: "" };
  for (const g of groups) {
    merged.pkgs.push(...g.pkgs);
    merged.size += g.size;
    merged.tiebreaker = maxString(merged.tiebreaker, g.tiebreaker);
  }
  return merged;
}

/** Does `group` hold the package a `replaces` entry names, at a version it accepts? */
function replacesGroup(entry: string, group: Group, subject: string): boolean {
  let dep: ReturnType<typeof parseDependency>;
  try {
    dep = parseDependency(entry);
  } catch (err) {
    throw new DistrolessError("E_FORMAT", `replaces entry ${JSON.stringify(entry)} cannot be read`, {
      subject,
      cause: err,
    });
  }
  return group.pkgs.some((p) => p.pkgname === dep.name && dependencyVersionMatches(dep, p.pkgver));
}

/** apko's groupByOriginAndSize: the package groups, in layer order (biggest first, remainder last). */
export function groupByOrigin(packages: readonly PkgInfo[], budget: number): LayerGroup[] {
  const byOrigin = new Map<string, Group>();
  for (const pkg of packages) {
    let g = byOrigin.get(pkg.origin);
    if (!g) {
      g = { pkgs: [], size: 0, tiebreaker: "" };
      byOrigin.set(pkg.origin, g);
    }
    g.pkgs.push(pkg);
  }
  const byPackage = new Map<string, Group>();
  for (const g of byOrigin.values()) for (const p of g.pkgs) byPackage.set(p.pkgname, g);

  // A replacer and the replaced package it names (at a matching version) share one group.
  for (const pkg of packages) {
    const entries = pkg.replaces.flatMap((r) => r.split(/\s+/).filter(Boolean));
    for (const entry of entries) {
      const name = entry.replace(/^!/, "").split(/[<>=~@]/)[0]!;
      const replacee = byPackage.get(name);
      if (!replacee) continue;
      if (!replacesGroup(entry, replacee, `${pkg.pkgname}-${pkg.pkgver}`)) continue;
      const g = byPackage.get(pkg.pkgname)!;
      if (g === replacee) continue;
      const merged = merge(g, replacee);
      for (const p of merged.pkgs) {
        byPackage.set(p.pkgname, merged);
        byOrigin.set(p.origin, merged);
      }
    }
  }

  const groups = [...new Set(byOrigin.values())];
  for (const g of groups) {
    g.size = 0;
    g.tiebreaker = "";
    for (const p of g.pkgs) {
      g.size += p.size;
      g.tiebreaker = maxString(g.tiebreaker, p.pkgname);
    }
  }
  groups.sort((a, b) => b.size - a.size || byteCompare(a.tiebreaker, b.tiebreaker));
  let kept = groups;
  if (groups.length > budget) {
    // Even a budget of 0 gets one package layer.
    const cutoff = Math.max(budget - 1, 0);
    kept = [...groups.slice(0, cutoff), merge(...groups.slice(cutoff))];
  }
  return kept.map((g) => ({
    packages: g.pkgs.map((p) => p.pkgname).sort(byteCompare),
    size: g.size,
  }));
}

interface StackDir {
  path: string;
  entry: LayerEntry;
}

/** One layer being filled: the directories it already holds (apko's stack). */
class LayerFill {
  private stack: StackDir[] = [];

  constructor(readonly index: number) {}

  /**
   * The directories of `main` this layer has not written yet, in order; the layer's stack becomes
   * `main`. As in apko, `main` is the walk's directory stack, which is only popped when a
   * directory is reached, so it can hold a finished sibling directory of a file.
   */
  align(main: StackDir[]): StackDir[] {
    for (let i = 0; i < Math.max(this.stack.length, main.length); i++) {
      if (i >= main.length) {
        this.stack = this.stack.slice(0, i);
        return [];
      }
      if (i < this.stack.length && this.stack[i] === main[i]) continue;
      this.stack = [...this.stack.slice(0, i), ...main.slice(i)];
      return this.stack.slice(i);
    }
    return [];
  }

  /** The missing parents of `entry` (with `mtime`, so the layer stands on its own). */
  *parents(main: StackDir[], mtime: number, skip?: LayerEntry): Generator<[number, LayerEntry]> {
    for (const todo of this.align(main)) {
      if (todo.entry === skip) continue;
      yield [this.index, { ...todo.entry, header: { ...todo.entry.header, mtime } }];
    }
  }
}

const parentOf = (p: string): string => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : ".");

/**
 * Splits the single-layer entry list (layerEntries order) into the entries of each group's layer
 * (index i) and of the top layer (index groups.length), as apko's splitLayers does; yields
 * `[layer, entry]` in the order each layer's tar holds them, streaming (one walk, nothing kept
 * per file). `records` maps a package name to its installed-db record bytes (the part of
 * `usr/lib/apk/db/installed` it wrote).
 */
export function* splitEntries(
  entries: Iterable<LayerEntry>,
  groups: readonly LayerGroup[],
  records: ReadonlyMap<string, Buffer>,
): Generator<[number, LayerEntry]> {
  const fills = groups.map((_, i) => new LayerFill(i));
  const fillOf = new Map<string, LayerFill>();
  groups.forEach((g, i) => {
    for (const name of g.packages) fillOf.set(name, fills[i]!);
  });
  const top = new LayerFill(groups.length);
  let main: StackDir[] = [];
  for (const entry of entries) {
    const p = entry.header.name;
    if (entry.header.type === "directory") {
      let keep = main.length;
      while (keep > 0 && main[keep - 1]!.path !== parentOf(p)) keep--;
      main = [...main.slice(0, keep), { path: p, entry }];
    }
    let fill = top;
    if (entry.owner !== undefined) {
      const owned = fillOf.get(entry.owner);
      if (!owned) {
        throw new DistrolessError("E_INTERNAL", `${p} belongs to ${entry.owner}, which is in no layer group`);
      }
      fill = owned;
    }
    yield* fill.parents(main, entry.header.mtime, entry);
    yield [fill.index, entry];

    if (p === INSTALLED_PATH) {
      // Scanners that read layers one by one find each package layer's own database records.
      for (let i = 0; i < groups.length; i++) {
        yield* fills[i]!.parents(main, entry.header.mtime);
        const body = Buffer.concat(groups[i]!.packages.map((name) => records.get(name) ?? Buffer.alloc(0)));
        yield [
          i,
          {
            header: { ...entry.header, size: body.length },
            inode: { content: { kind: "inline", data: body }, size: body.length, sha1: sha1Hex(body) },
          },
        ];
      }
    }
  }
}

export interface ImageLayer extends WrittenLayer {
  /** The packages whose files the layer holds ([] for the top layer and a single-layer image). */
  packages: string[];
}

/**
 * Writes the image's layers into `dir` (temp files, to be adopted into a layout): one layer, or
 * with `layering` the package layers and the top layer, all written at once in one walk of the
 * tree (apko's splitLayers does the same), so a layered image costs one pass over the bodies and
 * its layers compress side by side.
 */
export async function writeImageLayers(
  layering: { budget: number } | undefined,
  input: {
    tree: FsTree;
    installed: readonly PkgInfo[];
    records: ReadonlyMap<string, Buffer>;
    store: ContentStore;
    names: LayerNames;
    dir: string;
    compressor?: CompressorFactory;
    /** A byte listener for layer `index` of `count` (called once per layer), for progress. */
    layerBytes?: (index: number, count: number) => LayerBytesListener;
  },
): Promise<ImageLayer[]> {
  const { store, dir, compressor } = input;
  if (!layering) {
    const onBytes = input.layerBytes?.(0, 1);
    // A listener's total comes from a first walk that keeps nothing: a list of every entry would
    // hold a header per file of the image while the whole layer is written.
    const layer = await writeLayerEntries(
      layerEntries(input.tree, input.names),
      store,
      dir,
      compressor,
      onBytes,
      onBytes && estimatedTarSize(layerEntries(input.tree, input.names)),
    );
    return [{ ...layer, packages: [] }];
  }
  const groups = groupByOrigin(input.installed, layering.budget);
  const writers: LayerWriter[] = [];
  try {
    const split = () => splitEntries(layerEntries(input.tree, input.names), groups, input.records);
    // A listener needs each layer's size up front: one walk of the tree's metadata (no bodies) first.
    const totals = input.layerBytes ? layerTotals(split(), groups.length + 1) : undefined;
    for (let i = 0; i <= groups.length; i++) {
      const onBytes = input.layerBytes?.(i, groups.length + 1);
      const progress = onBytes && totals && { total: totals[i]!, onBytes };
      writers.push(await LayerWriter.open(dir, store, compressor, progress));
    }
    for (const [i, entry] of split()) {
      await writers[i]!.add(entry);
    }
    const written = await Promise.all(writers.map((w) => w.finish()));
    return written.map((layer, i) => ({ ...layer, packages: groups[i]?.packages ?? [] }));
  } catch (err) {
    await Promise.all(writers.map((w) => w.abort()));
    throw err;
  }
}

/** Each layer's estimated tar size (estimatedTarSize of the entries that go to it), keeping none of them. */
function layerTotals(split: Iterable<[number, LayerEntry]>, count: number): number[] {
  const totals = Array.from({ length: count }, () => estimatedTarSize([]));
  for (const [i, entry] of split) totals[i]! += estimatedEntrySize(entry);
  return totals;
}
