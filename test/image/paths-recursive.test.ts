import * as assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { assembleImage } from "../../provider/image/assemble";
import { validateApkoConfig } from "../../provider/image/config";
import { tempDir } from "../helpers/tmp";
import { directPlan, readLayer } from "./image-helpers";

test("a recursive permissions mutation applies to everything below the path (apko >= 1.2.19)", async () => {
  const root = tempDir();
  const config = validateApkoConfig(
    {
      archs: ["x86_64"],
      paths: [
        { path: "/data/sub", type: "directory", permissions: 0o755 },
        { path: "/data/a", type: "empty-file", permissions: 0o644 },
        { path: "/data/sub/b", type: "empty-file", permissions: 0o644 },
        { path: "/keep/c", type: "empty-file", permissions: 0o644 },
        { path: "/data", type: "permissions", permissions: 0o750, uid: 5, gid: 6, recursive: true },
        { path: "/keep", type: "permissions", permissions: 0o700 },
      ],
    },
    "paths.yaml",
  );
  await assembleImage({
    config,
    plans: [await directPlan("x86_64", [])],
    cacheDir: path.join(root, "cache"),
    outputDir: path.join(root, "oci"),
    keys: [],
  });
  const layer = await readLayer(path.join(root, "oci"), "amd64");
  const meta = (n: string) => {
    const h = layer.find((e) => e.header.name === n)?.header;
    assert.ok(h, `${n} in the layer`);
    return [h.mode, h.uid, h.gid];
  };
  for (const n of ["data", "data/sub", "data/a", "data/sub/b"]) assert.deepEqual(meta(n), [0o750, 5, 6], n);
  assert.deepEqual(meta("keep"), [0o700, 0, 0]);
  assert.deepEqual(meta("keep/c"), [0o644, 0, 0], "not recursive: only the path itself");
});
