import * as assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { assembleImage } from "../../provider/image/assemble";
import { validateApkoConfig } from "../../provider/image/config";
import { tempDir } from "../helpers/tmp";
import {
  dir,
  file,
  hasTool,
  pkgInfo,
  resolvedPlans,
  run,
  testKey,
  withParents,
  writeRepo,
} from "./image-helpers";

const HELLO_C = `
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char line[128] = "";
  FILE *f = fopen("/etc/os-release", "r");
  if (f) { fgets(line, sizeof line, f); fclose(f); }
  printf("hello %s uid=%d gid=%d cwd=%s os=%s", argc > 1 ? argv[1] : "?", (int)getuid(), (int)getgid(),
         getcwd(NULL, 0), line);
  return 0;
}
`;

function unmet(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return "needs an x86_64 Linux host";
  if (process.getuid?.() !== 0) return "runc needs root here";
  for (const tool of ["gcc", "umoci", "runc"]) if (!hasTool(tool)) return `${tool} is not installed`;
  return undefined;
}

describe("an image we build runs", () => {
  const skip = unmet();
  test(
    "a static program packaged with writeApk, resolved from a signed repository, runs under runc",
    skip ? { skip } : {},
    async () => {
      const root = tempDir();
      const src = path.join(root, "hello.c");
      const bin = path.join(root, "hello");
      writeFileSync(src, HELLO_C);
      run("gcc", ["-static", "-O2", "-o", bin, src]);
      const key = await testKey("runc-test.rsa");
      const repo = path.join(root, "repo");
      const pub = await writeRepo(
        repo,
        "x86_64",
        [
          {
            info: pkgInfo("base", "1.0-r0", "x86_64"),
            entries: withParents([
              file("etc/os-release", 'ID=runc-test\nNAME="runc test"\n'),
              file("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\n"),
              file("etc/group", "root:x:0:\n"),
            ]),
          },
          {
            info: pkgInfo("hello", "1.0-r0", "x86_64", { depends: ["base"] }),
            entries: withParents([
              dir("usr/bin"),
              {
                path: "usr/bin/hello",
                type: "file",
                mode: 0o755,
                uid: 0,
                gid: 0,
                content: { file: bin, size: statSync(bin).size },
              },
            ]),
          },
        ],
        key,
      );
      const config = validateApkoConfig(
        {
          contents: { repositories: [repo], keyring: [pub], packages: ["hello"] },
          entrypoint: { command: "/usr/bin/hello" },
          cmd: "from-cmd",
          accounts: {
            "run-as": "app",
            users: [{ username: "app", uid: 10001 }],
            groups: [{ groupname: "app", gid: 10001 }],
          },
          "work-dir": "/home/app",
          archs: ["x86_64"],
        },
        path.join(root, "apko.yaml"),
      );
      const cache = path.join(root, "cache");
      const { plans, keys } = await resolvedPlans(config, cache);
      assert.deepEqual(
        plans[0]!.packages.map((p) => p.name),
        ["base", "hello"],
      );
      const oci = path.join(root, "oci");
      await assembleImage({ config, plans, keys, cacheDir: cache, outputDir: oci });

      const bundle = path.join(root, "bundle");
      run("umoci", ["unpack", "--image", `${oci}:latest-x86_64`, bundle]);
      const specFile = path.join(bundle, "config.json");
      const spec = JSON.parse(readFileSync(specFile, "utf8"));
      // The image config became the runtime spec: entrypoint + cmd, the run-as user, the work dir.
      assert.deepEqual(spec.process.args, ["/usr/bin/hello", "from-cmd"]);
      assert.deepEqual([spec.process.user.uid, spec.process.user.gid], [10001, 10001]);
      assert.equal(spec.process.cwd, "/home/app");
      spec.process.terminal = false;
      spec.process.args = ["/usr/bin/hello", "runc"];
      writeFileSync(specFile, JSON.stringify(spec));
      const id = `pd-image-test-${process.pid}`;
      let out: string;
      try {
        out = run("runc", ["run", "--bundle", bundle, id]);
      } finally {
        try {
          run("runc", ["delete", "--force", id]);
        } catch {
          // already gone: `runc run` removes the container when it exits
        }
      }
      assert.equal(out, "hello runc uid=10001 gid=10001 cwd=/home/app os=ID=runc-test\n");
    },
  );
});
