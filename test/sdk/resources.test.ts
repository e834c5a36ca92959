import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ApkPackage, ApkRepository, DistrolessImage } from "../../sdk";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const registered: Registered[] = [];

/** What the mock "engine" returns as each resource's state: inputs plus plausible outputs. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (type.endsWith(":ApkPackage")) {
    return {
      ...inputs,
      name,
      version: "1.0.0-r0",
      ref: `${name}=1.0.0-r0`,
      packages: [
        {
          arch: "x86_64",
          name,
          version: "1.0.0-r0",
          file: `/out/${name}.apk`,
          size: 1,
          checksum: "Q1x",
          datahash: "d",
        },
      ],
      provenance: [
        {
          arch: "x86_64",
          name,
          version: "1.0.0-r0",
          checksum: "Q1x",
          file: `/out/${name}.json`,
          digest: "sha256:p",
        },
      ],
    };
  }
  if (type.endsWith(":ApkRepository")) {
    return {
      ...inputs,
      url: `/repos/${name}`,
      reference: { url: `/repos/${name}`, keys: [{ name: "k.rsa.pub", pem: "PEM" }], digest: "sha256:1" },
    };
  }
  return { ...inputs, digest: "sha256:abc", imageRef: `${String(inputs.repository)}@sha256:abc` };
}

pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      return { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) };
    },
    call: (args) => args.inputs,
  },
  "sdk-test",
  "dev",
  false,
);

function output<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}

function isSecret<T>(o: pulumi.Output<T>): Promise<boolean> {
  return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}

describe("SDK resources under setMocks", () => {
  const key = pulumi.secret("-----BEGIN RSA PRIVATE KEY-----\nsecret\n-----END RSA PRIVATE KEY-----\n");
  const pkg = new ApkPackage("app", { configFile: "melange.yaml", signingKey: key });
  const repo = new ApkRepository("repo", { path: "./repo", signingKey: key, packages: [pkg] });
  const image = new DistrolessImage("img", {
    configFile: "apko.yaml",
    repositories: [repo, "https://packages.example.com/os"],
    packages: [pkg, "ca-certificates-bundle"],
    repository: "registry.example.com/team/app",
    tags: ["v1"],
    registryAuth: { username: "u", password: pulumi.secret("p") },
  });

  test("named types: pulumi-nodejs:dynamic/pulumi-distroless:<Type>", async () => {
    await output(image.digest);
    assert.deepEqual(
      registered.map((r) => r.type),
      [
        "pulumi-nodejs:dynamic/pulumi-distroless:ApkPackage",
        "pulumi-nodejs:dynamic/pulumi-distroless:ApkRepository",
        "pulumi-nodejs:dynamic/pulumi-distroless:DistrolessImage",
      ],
    );
  });

  test("wiring: a repository gets the package's built files, the image its ref and the repository's reference", async () => {
    await output(image.digest);
    const r = registered.find((x) => x.name === "repo")!;
    assert.deepEqual(
      (r.inputs.packages as { file: string }[][])[0]!.map((p) => p.file),
      ["/out/app.apk"],
    );
    const i = registered.find((x) => x.name === "img")!;
    assert.deepEqual(i.inputs.packages, ["app=1.0.0-r0", "ca-certificates-bundle"]);
    assert.deepEqual(i.inputs.repositories, [
      { url: "/repos/repo", keys: [{ name: "k.rsa.pub", pem: "PEM" }], digest: "sha256:1" },
      "https://packages.example.com/os",
    ]);
    assert.equal(await output(image.imageRef), "registry.example.com/team/app@sha256:abc");
    assert.equal(await output(pkg.ref), "app=1.0.0-r0");
  });

  test("secret inputs stay secret; outputs named like them are secret too", async () => {
    assert.equal(await isSecret(repo.url), false);
    // Every input shows up as a property of the resource; the key's stays secret.
    const signingKey = (pkg as unknown as { signingKey: pulumi.Output<string> }).signingKey;
    assert.equal(await isSecret(signingKey), true);
    const auth = (image as unknown as { registryAuth: pulumi.Output<unknown> }).registryAuth;
    assert.equal(await isSecret(auth), true);
    assert.equal(await isSecret(image.digest), false);
  });

  test("__provider is a few KB, only require()s this package, and captures none of our code", async () => {
    await output(image.digest);
    for (const r of registered) {
      const text = String(r.inputs.__provider);
      assert.ok(text.length < 4096, `${r.type}: ${text.length} bytes`);
      assert.match(text, /require\(modulePath\)\.provider\.check/);
      const modules = [...new Set([...text.matchAll(/modulePath: "([^"]+)"/g)].map((m) => m[1]))];
      assert.equal(modules.length, 1, modules.join(", "));
      assert.match(modules[0]!, /^pulumi-distroless\/provider\/dynamic\/(package|repository|image)$/);
      // Nothing of the implementation is inlined: no resolver, builder or registry code.
      assert.doesNotMatch(text, /resolvePackages|buildPackage|pushLayout|DistrolessError/);
    }
  });

  test("the serialized provider's module resolves to the implementation through the package exports", () => {
    for (const m of ["package", "repository", "image"]) {
      const resolved = require.resolve(`pulumi-distroless/provider/dynamic/${m}`);
      assert.match(resolved, new RegExp(`dist/provider/dynamic/${m}\\.js$`));
      const impl = require(resolved) as { provider: Record<string, unknown> };
      for (const op of ["check", "diff", "create", "update", "read", "delete"]) {
        assert.equal(typeof impl.provider[op], "function", `${m}.${op}`);
      }
    }
  });

  test("ApkPackage takes ApkRepository resources as build repositories: their URL, and their keys join the keyring", async () => {
    const built = new ApkPackage("tool", {
      configFile: "tool.yaml",
      signingKey: key,
      repositories: [repo, "https://packages.example.com/os"],
      keyring: ["os.rsa.pub"],
    });
    await output(built.ref);
    const t = registered.find((x) => x.name === "tool")!;
    assert.deepEqual(t.inputs.repositories, ["/repos/repo", "https://packages.example.com/os"]);
    assert.deepEqual(t.inputs.keyring, ["os.rsa.pub", { name: "k.rsa.pub", pem: "PEM" }]);
  });

  test("list inputs may be Outputs of arrays (Input<Input<T>[]>); resources inside are wired as in plain arrays", async () => {
    // These lines are checked by the compiler too: Output arrays, with resources and Outputs inside.
    const fromOutputs = new DistrolessImage("img-out", {
      configFile: "apko.yaml",
      repositories: pulumi.output([repo, "https://packages.example.com/os"]),
      packages: pulumi.output([pkg, pulumi.output("ca-certificates-bundle")]),
      keyring: pulumi.output(["os.rsa.pub"]),
      archs: pulumi.output([pulumi.output("x86_64")]),
      tags: pulumi.output(["v1"]),
      repository: "registry.example.com/team/app",
    });
    const tool = new ApkPackage("tool-out", {
      configFile: "tool.yaml",
      signingKey: key,
      repositories: pulumi.output([repo]),
      keyring: pulumi.output(["os.rsa.pub"]),
      archs: pulumi.output(["x86_64"]),
      buildOptions: pulumi.output([]),
    });
    const published = new ApkRepository("repo-out", {
      path: "./repo-out",
      signingKey: key,
      packages: pulumi.output([pkg, "/extra/x.apk"]),
      archs: pulumi.output(["x86_64"]),
    });
    await Promise.all([output(fromOutputs.digest), output(tool.ref), output(published.url)]);
    const i = registered.find((x) => x.name === "img-out")!;
    assert.deepEqual(i.inputs.repositories, [
      { url: "/repos/repo", keys: [{ name: "k.rsa.pub", pem: "PEM" }], digest: "sha256:1" },
      "https://packages.example.com/os",
    ]);
    assert.deepEqual(i.inputs.packages, ["app=1.0.0-r0", "ca-certificates-bundle"]);
    assert.deepEqual(i.inputs.archs, ["x86_64"]);
    assert.deepEqual(
      (i.inputs.provenance as { file: string }[][]).flat().map((p) => p.file),
      ["/out/app.json"],
      "an ApkPackage inside an Output list still brings its provenance",
    );
    const t = registered.find((x) => x.name === "tool-out")!;
    assert.deepEqual(t.inputs.repositories, ["/repos/repo"]);
    assert.deepEqual(t.inputs.keyring, ["os.rsa.pub", { name: "k.rsa.pub", pem: "PEM" }]);
    const r = registered.find((x) => x.name === "repo-out")!;
    assert.deepEqual((r.inputs.packages as unknown[]).length, 2);
    assert.equal((r.inputs.packages as { file: string }[][])[0]![0]!.file, "/out/app.apk");
    assert.equal((r.inputs.packages as string[])[1], "/extra/x.apk");
  });
});
