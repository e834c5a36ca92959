import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Verb } from "../../provider/cli/command";
import { main } from "../../provider/cli/main";

/*
 * Every verb's --help comes from the table its arguments are parsed with: each flag on one line with
 * what it does, and an example. The verbs are discovered from `help`, so a new verb is covered.
 */

async function capture(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const code = await main(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: () => {},
  });
  return { code, stdout };
}

const MODULES: Record<string, string> = { index: "index-verb" };
const COMPAT = new Set(["apko", "melange"]);

describe("--help", () => {
  test("every verb lists each flag of its table on one line with its help, and an example", async () => {
    const list = await capture(["help"]);
    const names = [...list.stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!);
    assert.ok(names.length >= 11, `verbs listed: ${names.join(", ")}`);
    for (const name of names) {
      const help = await capture([name, "--help"]);
      assert.equal(help.code, 0, name);
      if (COMPAT.has(name)) {
        assert.match(help.stdout, /commands:/, `${name} lists its commands`);
        continue;
      }
      const verb = require(`../../provider/cli/verbs/${MODULES[name] ?? name}`).verb as Verb;
      assert.ok(verb.flags, `${name} has a flag table`);
      assert.ok(verb.example?.startsWith(`pulumi-distroless ${name} `), `${name} has an example`);
      const lines = help.stdout.split("\n");
      for (const [flag, spec] of Object.entries(verb.flags)) {
        const line = lines.find((l) => new RegExp(`^ {2}(-\\w, )?--${flag}\\b`).test(l));
        assert.ok(line, `${name} --help has a line for --${flag}`);
        assert.ok(line.includes(spec.help), `${name} --${flag}'s line carries its help`);
        assert.ok(spec.help.length > 0);
      }
      assert.match(help.stdout, new RegExp(`example:\\n {2}pulumi-distroless ${name} `));
    }
  });

  test("the table is what parses: a flag missing from it is refused, naming the verb's help", async () => {
    let stderr = "";
    const code = await main(["inspect", "x.apk", "--frobnicate"], {
      stdout: () => {},
      stderr: (t) => {
        stderr += t;
      },
    });
    assert.equal(code, 1);
    assert.match(stderr, /--frobnicate.*pulumi-distroless help inspect/);
  });
});
