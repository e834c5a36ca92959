/**
 * Whole commands, as a user runs them (each its own process of the package's bin,
 * `node dist/provider/cli/launch.js`: the bundled CLI with its code cache),
 * beside a yardstick measured in the same run: medians of alternating runs, the ratio beside the
 * goal (issue #15's table). Prints figures; asserts nothing.
 *
 *   npm run build && node dist/bench/commands.js [--row NAME]... [--rounds N] [--keep DIR] [--node PATH]
 *   rows: lock-small, repush, lock-big, package, build-image (all by default)
 *   PD_BENCH_CLI=.../dist/provider/cli/main.js times another build (e.g. main's, for a before figure)
 *   --node PATH runs the commands and the `node -e 0` yardstick with that node (e.g. Node 24)
 *   sizes: --packages N (lock-big, 150000), --mb N and --files N (package, build-image: 100, 4400)
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildImageRow } from "./commands/build-image";
import { lockBig } from "./commands/lock-big";
import { lockSmall } from "./commands/lock-small";
import { packageRow } from "./commands/package-tree";
import { repush } from "./commands/repush";

const ROWS: Record<string, (work: string) => void | Promise<void>> = {
  "lock-small": lockSmall,
  repush,
  "lock-big": lockBig,
  package: packageRow,
  "build-image": buildImageRow,
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const chosen = argv.flatMap((a, i) => (argv[i - 1] === "--row" ? [a] : []));
  for (const r of chosen)
    if (!ROWS[r]) throw new Error(`unknown row ${r} (rows: ${Object.keys(ROWS).join(", ")})`);
  const keep = argv.includes("--keep") ? argv[argv.indexOf("--keep") + 1] : undefined;
  if (keep) mkdirSync(keep, { recursive: true });
  const work = keep ?? mkdtempSync(path.join(os.tmpdir(), "pd-bench-commands-"));
  try {
    for (const [name, row] of Object.entries(ROWS)) {
      if (chosen.length === 0 || chosen.includes(name)) await row(work);
    }
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
