// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * A real build through ruby/build, ruby/install and ruby/clean (Debian's ruby and ruby-dev, which
 * scripts/setup.sh installs): a gem with a C extension and an executable is built from its gemspec
 * and installed into the package; the packaged gem is then required and its executable run.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { build, filesOf, has, needsHostTools, runOk, textOf, unpacked } from "./pipelines-build-helpers";

const GEMSPEC = `Gem::Specification.new do |s|
  s.name = "hello"
  s.version = "1.2.3"
  s.authors = ["t"]
  s.license = "MIT"
  s.files = ["lib/hello.rb", "ext/hello_ext/extconf.rb", "ext/hello_ext/hello_ext.c", "bin/hello"]
  s.extensions = ["ext/hello_ext/extconf.rb"]
  s.executables = ["hello"]
  # A key only the gem's authors have: gem build fails on it unless ruby/build drops the line.
  s.signing_key = "/nonexistent/gem-private_key.pem"
end
`;

/** No summary in the gemspec: gem build refuses it unless the opts input (--force) reaches it. */
const GEM_FILES = {
  "gem/hello.gemspec": GEMSPEC,
  "gem/ext/hello_ext/extconf.rb": 'require "mkmf"\ncreate_makefile("hello_ext")\n',
  "gem/ext/hello_ext/hello_ext.c":
    '#include <ruby.h>\nstatic VALUE answer(VALUE self) { return INT2FIX(42); }\nvoid Init_hello_ext(void) { rb_define_module_function(rb_define_module("HelloExt"), "answer", answer, 0); }\n',
  "gem/lib/hello.rb":
    'require "hello_ext"\nmodule Hello\n  def self.greet = "hello from ruby #{HelloExt.answer}"\nend\n',
  "gem/bin/hello": '#!/usr/bin/env ruby\nrequire "hello"\nputs Hello.greet\n',
};

// The main package: every input of the three pipelines set; the subpackage: the defaults (gem
// instead of gem-file, no output, no opts) and no ruby/clean, to show what clean removes.
const RECIPE = `package: {name: hello-gem, version: 1.2.3, epoch: 0}
pipeline:
  - uses: ruby/build
    with:
      dir: gem
      gem: hello
      output: hello-built.gem
      opts: --force
  - uses: ruby/install
    with:
      dir: gem
      gem-file: hello-built.gem
      version: 1.2.3
      opts: --env-shebang
  - uses: ruby/clean
subpackages:
  - name: hello-gem-plain
    pipeline:
      - uses: ruby/build
        with:
          dir: gem
          gem: hello
          opts: --force
      - uses: ruby/install
        with:
          dir: gem
          gem: hello
          version: 1.2.3
`;

describe("real build through the ruby pipelines", () => {
  test(
    "ruby/build, ruby/install, ruby/clean: a gem with a C extension installed in Gem.default_dir, loadable, its executable runs",
    needsHostTools(has("gem") && has("ruby", "-e", 'require "mkmf"'), "ruby with ruby-dev (mkmf) is needed"),
    async () => {
      const gemDir = runOk("ruby", ["-e", "puts Gem.default_dir"]).trim().replace(/^\//, "");
      const built = await build(RECIPE, GEM_FILES);
      const main = filesOf(built, "hello-gem");
      const plain = filesOf(built, "hello-gem-plain");
      for (const files of [main, plain]) {
        assert.ok(files.has(`${gemDir}/gems/hello-1.2.3/lib/hello.rb`));
        assert.ok(files.has(`${gemDir}/specifications/hello-1.2.3.gemspec`));
        assert.ok(
          [...files.keys()].some((f) => f.startsWith(`${gemDir}/extensions/`) && f.endsWith("/hello_ext.so")),
          "the C extension was compiled into the gem's extension dir",
        );
        assert.equal(files.get("usr/bin/hello")?.mode, 0o755);
      }
      // opts reached gem install: --env-shebang in the main package, the ruby path without it.
      assert.match(textOf(built, "hello-gem", "usr/bin/hello"), /^#!\/usr\/bin\/env ruby/);
      assert.doesNotMatch(textOf(built, "hello-gem-plain", "usr/bin/hello"), /^#!\/usr\/bin\/env/);
      // ruby/clean removed the gem cache, build_info and the extension build log; without it they stay.
      const leftovers = (files: Map<string, unknown>) =>
        [...files.keys()].filter(
          (f) =>
            f.startsWith(`${gemDir}/cache/`) ||
            f.startsWith(`${gemDir}/build_info`) ||
            /\/(gem_make\.out|mkmf\.log)$/.test(f),
        );
      assert.deepEqual(leftovers(main), []);
      assert.ok(plain.has(`${gemDir}/cache/hello-1.2.3.gem`), "ruby/install keeps the gem cache");
      assert.ok(
        leftovers(plain).some((f) => f.endsWith("/gem_make.out")),
        "ruby/install leaves gem_make.out",
      );

      // The packaged gem loads (C extension included) and its executable runs, from the package alone.
      const root = await unpacked(built, "hello-gem");
      const env = { ...process.env, GEM_PATH: path.join(root, gemDir), GEM_HOME: path.join(root, gemDir) };
      assert.equal(runOk("ruby", ["-e", 'require "hello"; puts Hello.greet'], env), "hello from ruby 42\n");
      assert.equal(runOk("ruby", [path.join(root, "usr/bin/hello")], env), "hello from ruby 42\n");
    },
  );
});
