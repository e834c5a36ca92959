import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { apkoTag } from "../../provider/cli/compat/apko";
import { APKO_BUILD, APKO_COMMANDS } from "../../provider/cli/compat/apko-commands";
import { renderPackageLine } from "../../provider/cli/compat/apko-show";
import { goCommandHelp, parseGoFlags } from "../../provider/cli/compat/go-flags";
import { MELANGE_COMMANDS } from "../../provider/cli/compat/melange-commands";
import { runCli } from "../helpers/cli";
import { tool } from "../helpers/tools";

/*
 * The compat commands parse command lines the way apko's and melange's cobra/pflag do, and their
 * tables match the real tools' flag names (checked against the tools' own --help when built).
 */

describe("compat flag parsing (pflag's rules)", () => {
  test("--flag=value, --flag value, -k value, -kvalue, -k=value, CSV lists, positionals anywhere", () => {
    const v = parseGoFlags("apko", APKO_BUILD, [
      "--arch=amd64,arm64",
      "apko.yaml",
      "-k",
      "a.pub",
      "tag",
      "-kb.pub",
      "-k=c.pub",
      "--keyring-append",
      "d.pub,e.pub",
      "out.tar",
      "--sbom=false",
      "--offline",
      "--",
      "-not-a-flag",
    ]);
    assert.deepEqual(v.positionals, ["apko.yaml", "tag", "out.tar", "-not-a-flag"]);
    assert.deepEqual(v.lists.get("arch"), ["amd64", "arm64"]);
    assert.deepEqual(v.lists.get("keyring-append"), ["a.pub", "b.pub", "c.pub", "d.pub", "e.pub"]);
    assert.equal(v.bools.get("sbom"), false);
    assert.equal(v.bools.get("offline"), true);
  });

  test("a boolean takes its value only after = (pflag): `--sbom false` leaves false a positional", () => {
    const v = parseGoFlags("apko", APKO_BUILD, ["--sbom", "false"]);
    assert.equal(v.bools.get("sbom"), true);
    assert.deepEqual(v.positionals, ["false"]);
    assert.throws(() => parseGoFlags("apko", APKO_BUILD, ["--sbom=maybe"]), /--sbom takes true or false/);
  });

  test("unknown and unsupported flags are errors naming the flag; a missing value names it too", () => {
    assert.throws(
      () => parseGoFlags("apko", APKO_BUILD, ["--frobnicate"]),
      /--frobnicate.*unknown flag --frobnicate for apko build/,
    );
    assert.throws(
      () => parseGoFlags("apko", APKO_BUILD, ["--include-paths", "x"]),
      /--include-paths is not supported: includes are resolved relative to the config file only/,
    );
    assert.throws(() => parseGoFlags("apko", APKO_BUILD, ["--lockfile"]), /--lockfile needs a value/);
  });

  test("help comes from the same table: every flag has its line, and there is an example", () => {
    for (const [tool, commands] of [
      ["apko", APKO_COMMANDS],
      ["melange", MELANGE_COMMANDS],
    ] as const) {
      for (const c of commands) {
        const help = goCommandHelp(tool, c);
        for (const f of c.flags)
          assert.ok(help.includes(`--${f.name}`), `${tool} ${c.name} --help lists --${f.name}`);
        assert.match(help, new RegExp(`example:\\n  pulumi-distroless ${tool} ${c.name} `));
      }
    }
  });

  test("apko's tag is a reference: a bare name gets :latest, a tag or digest stays", () => {
    assert.equal(apkoTag("tag"), "tag:latest");
    assert.equal(apkoTag("localhost:5000/app"), "localhost:5000/app:latest");
    assert.equal(apkoTag("registry.example.com/team/app:v1"), "registry.example.com/team/app:v1");
  });

  test("show-packages templates: apko's three fields, anything else refused", () => {
    const p = { name: "hello", version: "1.0.0-r0", source: "/repo/x86_64/hello-1.0.0-r0.apk" };
    assert.equal(
      renderPackageLine("{{ .Name }}={{.Version}} # {{ .Source }}", p),
      `hello=1.0.0-r0 # ${p.source}`,
    );
    assert.throws(() => renderPackageLine("{{ .Arch }}", p), /only \{\{ \.Name \}\}/);
  });

  test("every flag in our tables exists in the real tool's --help (the spelling users' scripts use)", (t) => {
    for (const [name, commands] of [
      ["apko", APKO_COMMANDS],
      ["melange", MELANGE_COMMANDS],
    ] as const) {
      const bin = tool(name);
      if (!bin) {
        t.diagnostic(`${name} not built; table not checked against it`);
        continue;
      }
      for (const c of commands) {
        const help = spawnSync(bin, [c.name, "--help"], { encoding: "utf8" }).stdout;
        for (const f of c.flags) {
          const spelled = f.short ? `-${f.short}, --${f.name} ` : `--${f.name} `;
          assert.ok(help.includes(spelled), `${name} ${c.name} has ${spelled.trim()}`);
        }
      }
    }
  });
});

describe("compat commands through the CLI", () => {
  test("--help of a compat command lists its flags; a refused flag and runner say why", async () => {
    const help = await runCli(["apko", "build", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--repository-append LIST/);
    assert.match(help.stdout, /example:\n {2}pulumi-distroless apko build apko.yaml/);

    const qemu = await runCli(["melange", "build", "x.yaml", "--runner", "qemu"]);
    assert.equal(qemu.code, 1);
    assert.match(qemu.stderr, /--runner qemu is not supported/);
    const persist = await runCli(["melange", "build", "x.yaml", "--persist-lint-results"]);
    assert.equal(persist.code, 1);
    assert.match(persist.stderr, /--persist-lint-results is not supported: lint findings are printed/);
    const workspace = await runCli(["melange", "build", "x.yaml", "--workspace-dir", "/tmp/w"]);
    assert.equal(workspace.code, 1);
    assert.match(workspace.stderr, /--workspace-dir is not supported: melange builds in that dir itself/);
    const unknown = await runCli(["apko", "frob"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown apko command "frob"; supported: build, publish/);
  });
});
