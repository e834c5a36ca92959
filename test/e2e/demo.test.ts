import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { freePort } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { toolSkip } from "../helpers/tools";
import { needsTools } from "../registry/readback";

describe("the main job: examples/demo end to end", needsTools(), () => {
  test("local engine: first run creates everything and the image runs; the second run changes nothing", async () => {
    const work = tempDir("pd-demo-");
    const port = String(await freePort());
    const first = await runCli(["demo", "--engine", "local", "--work", work, "--port", port]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /\+ ApkPackage\s+busybox\s+create/);
    assert.match(first.stdout, /\+ ApkPackage\s+hello\s+create/);
    assert.match(first.stdout, /\+ DistrolessImage\s+hello\s+create/);
    assert.match(first.stdout, /image: 127\.0\.0\.1:\d+\/demo\/hello@sha256:[a-f0-9]{64}/);
    assert.match(
      first.stdout,
      /running it \(skopeo -> umoci -> runc\): hello from a distroless image built by pulumi-distroless \(hello 1\.0\.0-r0, x86_64\)/,
    );
    // The hello package was built in the sandbox, against the busybox package.
    assert.match(first.stdout + first.stderr, /hello: x86_64: 1 package\(s\) built \(bubblewrap runner\)/);

    const second = await runCli(["demo", "--engine", "local", "--work", work, "--port", port]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /nothing changed: 5 resources unchanged, nothing built, nothing pushed/);
    assert.doesNotMatch(second.stdout + second.stderr, /building for|pushing to|publishing/);
    const imageRef = (s: string) => /image: (\S+)/.exec(s)?.[1];
    assert.equal(imageRef(second.stdout), imageRef(first.stdout), "the same image digest");
    // The signing key never shows up in what the demo prints.
    assert.doesNotMatch(first.stdout + first.stderr + second.stdout + second.stderr, /PRIVATE KEY/);

    // --json: stdout is the result alone; the account of the run is on stderr.
    const third = await runCli(["demo", "--engine", "local", "--work", work, "--port", port, "--json"]);
    assert.equal(third.code, 0, third.stdout + third.stderr);
    const result = JSON.parse(third.stdout) as { imageRef: string; changed: number; total: number };
    assert.equal(result.imageRef, imageRef(first.stdout));
    assert.deepEqual([result.changed, result.total], [0, 5]);
    assert.match(third.stderr, /nothing changed: 5 resources unchanged/);
  });

  test(
    "real engine (scripts/demo.sh when the tools are built): pulumi up of examples/demo, twice",
    toolSkip("pulumi"),
    async () => {
      const work = tempDir("pd-demo-pulumi-");
      const port = String(await freePort());
      const first = await runCli(["demo", "--engine", "pulumi", "--work", work, "--port", port]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.match(first.stdout, /engine: the pulumi CLI/);
      assert.match(first.stdout, /5 of 5 resources created or updated/);
      assert.match(
        first.stdout,
        /running it \(skopeo -> umoci -> runc\): hello from a distroless image built by pulumi-distroless \(hello 1\.0\.0-r0, x86_64\)/,
      );
      const second = await runCli(["demo", "--engine", "pulumi", "--work", work, "--port", port]);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.match(second.stdout, /nothing changed: 5 resources unchanged, nothing built, nothing pushed/);
      const imageRef = (s: string) => /image: (\S+)/.exec(s)?.[1];
      assert.equal(imageRef(second.stdout), imageRef(first.stdout), "the same image digest");
      assert.doesNotMatch(first.stdout + first.stderr + second.stdout + second.stderr, /PRIVATE KEY/);
    },
  );
});
