// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * A real build through pecl/phpize and pecl/install (Debian's php-dev and php-cli, which
 * scripts/setup.sh installs): a PHP extension from a tiny C source and its config.m4 is configured,
 * built with autoconf/make, installed into PHP's extension dir with the .ini that enables it, and
 * then loaded by php from the package.
 */
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { build, filesOf, has, needsHostTools, runOk, textOf, unpacked } from "./pipelines-build-helpers";

const CONFIG_M4 = `PHP_ARG_ENABLE([hello], [whether to enable hello], [AS_HELP_STRING([--enable-hello], [Enable hello])], [yes])
if test "$PHP_HELLO" != "no"; then
  PHP_NEW_EXTENSION(hello, hello.c, $ext_shared)
fi
`;

const HELLO_C = `#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "php.h"

PHP_FUNCTION(hello_greet)
{
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_STRING("hello from php");
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_hello_greet, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

static const zend_function_entry hello_functions[] = {
  PHP_FE(hello_greet, arginfo_hello_greet)
  PHP_FE_END
};

zend_module_entry hello_module_entry = {
  STANDARD_MODULE_HEADER, "hello", hello_functions, NULL, NULL, NULL, NULL, NULL, "1.0.0",
  STANDARD_MODULE_PROPERTIES
};

#ifdef COMPILE_DL_HELLO
ZEND_GET_MODULE(hello)
#endif
`;

describe("real build through the pecl pipelines", () => {
  test(
    "pecl/phpize, pecl/install: an extension configured with the given php-config and prefix, installed, enabled and loadable",
    needsHostTools(
      has("phpize", "--version") && has("php-config", "--version") && has("php", "-v") && has("make"),
      "php-dev, php-cli and make are needed",
    ),
    async () => {
      // The real php-config behind Debian's alternative: a value of our own, not the default.
      const phpConfig = realpathSync(runOk("sh", ["-c", "command -v php-config"]).trim());
      const extDir = runOk(phpConfig, ["--extension-dir"]).trim().replace(/^\//, "");
      const built = await build(
        `package: {name: php-hello, version: 1.0.0, epoch: 0}\npipeline:\n  - uses: pecl/phpize\n    with:\n      php-config: ${phpConfig}\n      prefix: /opt/hello\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/share/php-hello\n      ./config.status --config >\${{targets.destdir}}/usr/share/php-hello/configure-args\n  - uses: autoconf/make\n  - uses: pecl/install\n    with:\n      extension: hello\n`,
        { "config.m4": CONFIG_M4, "hello.c": HELLO_C },
      );
      // Both phpize inputs reached configure.
      assert.equal(
        textOf(built, "php-hello", "usr/share/php-hello/configure-args").trim(),
        `--prefix=/opt/hello --with-php-config=${phpConfig}`,
      );
      const files = filesOf(built, "php-hello");
      assert.ok(files.has(`${extDir}/hello.so`), `hello.so in ${extDir}: ${[...files.keys()].join(", ")}`);
      assert.equal(textOf(built, "php-hello", "etc/php/conf.d/hello.ini"), "extension=hello.so\n");

      // php loads the packaged extension and calls into it.
      const root = await unpacked(built, "php-hello");
      const so = path.join(root, extDir, "hello.so");
      assert.match(runOk("php", ["-n", "-d", `extension=${so}`, "-m"]), /^hello$/m);
      assert.equal(
        runOk("php", ["-n", "-d", `extension=${so}`, "-r", "echo hello_greet();"]),
        "hello from php",
      );
    },
  );
});
