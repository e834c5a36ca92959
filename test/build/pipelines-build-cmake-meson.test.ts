// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * Real builds through cmake/{configure,build,install} and meson/{configure,compile,install}
 * (Debian's cmake, ninja-build and meson, which scripts/setup.sh installs): a C program configured
 * with an option from `opts`, built in a non-default output dir, installed into the package and
 * run; a file the build records its configuration in shows the layout melange's pipelines give.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { build, filesOf, has, needsHostTools, runPackaged, textOf } from "./pipelines-build-helpers";

const HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from " GREETING); return 0; }\n';

const CMAKE_PROJECT = {
  "CMakeLists.txt": `cmake_minimum_required(VERSION 3.16)
project(hello C)
include(GNUInstallDirs)
set(GREETING "unset" CACHE STRING "the greeting")
add_executable(hello hello.c)
target_compile_definitions(hello PRIVATE GREETING="\${GREETING}")
install(TARGETS hello DESTINATION \${CMAKE_INSTALL_BINDIR})
# Into the relative sysconfdir, as many projects do: where it lands shows the prefix handling.
install(FILES hello.conf DESTINATION \${CMAKE_INSTALL_SYSCONFDIR})
configure_file(settings.in settings @ONLY)
install(FILES \${CMAKE_BINARY_DIR}/settings DESTINATION \${CMAKE_INSTALL_DATADIR}/hello)
# Built only when asked for (cmake/build's opts): installed when it exists.
add_custom_target(stamp COMMAND \${CMAKE_COMMAND} -E touch \${CMAKE_BINARY_DIR}/stamp)
install(FILES \${CMAKE_BINARY_DIR}/stamp DESTINATION \${CMAKE_INSTALL_DATADIR}/hello OPTIONAL)
`,
  "settings.in":
    "generator=@CMAKE_GENERATOR@\nbuildtype=@CMAKE_BUILD_TYPE@\nlibdir=@CMAKE_INSTALL_FULL_LIBDIR@\nsysconfdir=@CMAKE_INSTALL_FULL_SYSCONFDIR@\nverbose=@CMAKE_VERBOSE_MAKEFILE@\n",
  "hello.conf": "greeting = yes\n",
  "hello.c": HELLO_C,
};

const MESON_PROJECT = {
  "meson.build": `project('hello', 'c')
executable('hello-meson', 'hello.c', c_args: ['-DGREETING="' + get_option('greeting') + '"'], install: true)
conf = configuration_data()
conf.set('buildtype', get_option('buildtype'))
conf.set('libdir', get_option('prefix') / get_option('libdir'))
conf.set('sysconfdir', get_option('prefix') / get_option('sysconfdir'))
conf.set('wrapmode', get_option('wrap_mode'))
configure_file(input: 'settings.in', output: 'settings', configuration: conf,
  install_dir: get_option('datadir') / 'hello')
`,
  "meson_options.txt": "option('greeting', type: 'string', value: 'unset')\n",
  "settings.in": "buildtype=@buildtype@\nlibdir=@libdir@\nsysconfdir=@sysconfdir@\nwrapmode=@wrapmode@\n",
  "hello.c": HELLO_C,
};

describe("real builds through the cmake and meson pipelines", () => {
  test(
    "cmake/configure, cmake/build, cmake/install: opts reach configure and build, output-dir is shared, melange's install layout",
    needsHostTools(has("cmake") && has("ninja"), "cmake and ninja-build are needed"),
    async () => {
      const built = await build(
        "package: {name: hello-cmake, version: 1.0.0, epoch: 0}\npipeline:\n  - uses: cmake/configure\n    with:\n      output-dir: build-here\n      opts: -DGREETING=cmake\n  - uses: cmake/build\n    with:\n      output-dir: build-here\n      opts: --target all stamp\n  - uses: cmake/install\n    with:\n      output-dir: build-here\n",
        CMAKE_PROJECT,
      );
      const files = filesOf(built, "hello-cmake");
      assert.equal(files.get("usr/bin/hello")?.mode, 0o755);
      assert.equal(await runPackaged(built.apks.get("hello-cmake")!, "usr/bin/hello"), "hello from cmake\n");
      assert.equal(
        textOf(built, "hello-cmake", "usr/share/hello/settings"),
        "generator=Ninja\nbuildtype=Release\nlibdir=/usr/lib\nsysconfdir=/etc\nverbose=ON\n",
      );
      // GNUInstallDirs under prefix /usr: the FULL sysconfdir is /etc, the relative one stays under
      // the prefix (melange passes no sysconfdir).
      assert.equal(textOf(built, "hello-cmake", "usr/etc/hello.conf"), "greeting = yes\n");
      assert.ok(files.has("usr/share/hello/stamp"), "cmake/build's opts built the stamp target");
    },
  );

  test(
    "meson/configure, meson/compile, meson/install: opts reach setup, output-dir is shared, melange's defaults",
    needsHostTools(has("meson", "--version") && has("ninja"), "meson and ninja-build are needed"),
    async () => {
      const built = await build(
        "package: {name: hello-meson, version: 1.0.0, epoch: 0}\npipeline:\n  - uses: meson/configure\n    with:\n      output-dir: build-here\n      opts: -Dgreeting=meson\n  - uses: meson/compile\n    with:\n      output-dir: build-here\n  - uses: meson/install\n    with:\n      output-dir: build-here\n",
        MESON_PROJECT,
      );
      assert.equal(filesOf(built, "hello-meson").get("usr/bin/hello-meson")?.mode, 0o755);
      assert.equal(
        await runPackaged(built.apks.get("hello-meson")!, "usr/bin/hello-meson"),
        "hello from meson\n",
      );
      // meson's own buildtype (melange sets none), lib as on Wolfi, no subproject downloads.
      assert.equal(
        textOf(built, "hello-meson", "usr/share/hello/settings"),
        "buildtype=debug\nlibdir=/usr/lib\nsysconfdir=/etc\nwrapmode=nodownload\n",
      );
    },
  );
});
