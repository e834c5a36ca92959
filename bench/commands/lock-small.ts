/**
 * `lock` of a 2-package config from a local repository (the fixtures' melange-built one), warm
 * cache: what a command costs to start. Yardstick: a bare `node -e 0`; `apko lock` for scale.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { fixturesDir } from "../../test/helpers/fixtures";
import { tool } from "../../test/helpers/tools";
import { median } from "../_common";
import { alternate, argValue, cli, NODE, report, timeCommand } from "./_shared";

export function lockSmall(work: string): void {
  const repo = path.join(fixturesDir, "local-repo");
  const config = path.join(work, "two.yaml");
  writeFileSync(
    config,
    `contents:\n  keyring:\n    - ${repo}/melange.rsa.pub\n  repositories:\n    - ${repo}\n` +
      "  packages:\n    - pretend-baselayout\n    - custom-ca-certs-1\narchs:\n  - x86_64\n",
  );
  const cache = path.join(work, "cache-lock-small");
  const ours = cli("lock", config, "--cache-dir", cache);
  timeCommand(ours); // warm the caches: the index cache and the CLI's code cache (launch.ts)
  const runs = alternate(
    argValue("--rounds", 15),
    () => timeCommand(ours),
    () => timeCommand([NODE, "-e", "0"]),
  );
  report("lock, 2-package config, warm cache", "pulumi-distroless lock", "node -e 0", runs, {
    kind: "plusMs",
    max: 50,
  });
  const apko = tool("apko");
  if (apko) {
    const out = path.join(work, "two.lock.json");
    const times = Array.from(
      { length: 5 },
      () => timeCommand([apko, "lock", config, "--output", out]).seconds,
    );
    console.log(`  for scale: apko lock ${(median(times) * 1000).toFixed(0)} ms`);
  }
}
