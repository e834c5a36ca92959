import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  type ApkoConfig,
  DEFAULT_PATH,
  DEFAULT_SSL_CERT_FILE,
  loadApkoConfig,
  parseApkoConfig,
  splitShellWords,
  validateApkoConfig,
} from "../../provider/image/config";
import { configError } from "../helpers/config-errors";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

function parse(yaml: string): ApkoConfig {
  return parseApkoConfig(yaml, "/etc/test/apko.yaml");
}

describe("apko config fixtures", needsFixtures(), () => {
  const dir = fixture("configs", "apko");
  const localRepo = fixture("local-repo");

  test("apko.yaml: repositories and keys resolve against the config's directory", async () => {
    const cfg = await loadApkoConfig(path.join(dir, "apko.yaml"));
    assert.deepEqual(cfg.contents.repositories, [
      { raw: "../../local-repo", kind: "local", location: localRepo },
    ]);
    assert.deepEqual(cfg.contents.keyring, [
      {
        raw: "../../local-repo/melange.rsa.pub",
        kind: "local",
        location: path.join(localRepo, "melange.rsa.pub"),
        name: "melange.rsa.pub",
      },
    ]);
    assert.deepEqual(cfg.contents.packages, ["replayout"]);
    assert.deepEqual(cfg.entrypoint.command, ["/bin/sh", "-l"]);
    assert.deepEqual(cfg.archs, ["x86_64", "aarch64"]);
    assert.equal(cfg.archsExplicit, true);
    assert.deepEqual(cfg.environment, { PATH: DEFAULT_PATH, SSL_CERT_FILE: DEFAULT_SSL_CERT_FILE });
    assert.deepEqual(cfg.accounts, { users: [], groups: [] });
    assert.deepEqual(cfg.cmd, []);
  });

  test("apko-discover.yaml: URLs and local paths mix", async () => {
    const cfg = await loadApkoConfig(path.join(dir, "apko-discover.yaml"));
    assert.deepEqual(
      cfg.contents.repositories.map((r) => [r.kind, r.location]),
      [
        ["url", "https://dl-cdn.alpinelinux.org/alpine/v3.22/main"],
        ["url", "https://apk.cgr.dev/chainguard"],
        ["local", localRepo],
      ],
    );
  });

  test("base_image.apko.yaml loads: two repositories and two keys", async () => {
    const cfg = await loadApkoConfig(path.join(dir, "base_image.apko.yaml"));
    assert.deepEqual(
      cfg.contents.keyring.map((k) => k.name),
      ["melange.rsa.pub", "private_pkg_key.rsa.pub"],
    );
    assert.deepEqual(
      cfg.contents.repositories.map((r) => r.location),
      [localRepo, fixture("local-repo-private")],
    );
    assert.deepEqual(cfg.contents.packages, ["package-y"]);
  });

  test("apko-certs.yaml loads with its certificate providers", async () => {
    const cfg = await loadApkoConfig(path.join(dir, "apko-certs.yaml"));
    assert.deepEqual(cfg.certificates, { additional: [], providers: ["custom-ca-certificates"] });
    assert.deepEqual(cfg.contents.packages, ["pretend-baselayout", "custom-ca-certs-1", "custom-ca-certs-2"]);
  });

  test("empty-layering.yaml loads: an empty layering block asks for nothing", async () => {
    const cfg = await loadApkoConfig(path.join(dir, "empty-layering.yaml"));
    assert.deepEqual(cfg.contents.packages, ["replayout"]);
  });

  test("layering.yaml loads: origin layering with its budget", async () => {
    const cfg = await loadApkoConfig(path.join(dir, "layering.yaml"));
    assert.deepEqual(cfg.layering, { strategy: "origin", budget: 2 });
  });
});

describe("apko config", () => {
  test("archs: apk and OCI names, duplicates removed, apko's order", () => {
    const cfg = parse("archs: [aarch64, amd64, x86_64, arm/v7, armhf, '386', loong64, ppc64le, arm64]\n");
    assert.deepEqual(cfg.archs, ["x86", "x86_64", "armhf", "armv7", "aarch64", "loongarch64", "ppc64le"]);
    assert.deepEqual(parse("archs: [all]\n").archs.length, 9);
    const none = parse("contents: {packages: [a]}\n");
    assert.equal(none.archsExplicit, false);
    assert.equal(none.archs.length, 9, "no archs means all of them, as apko builds");
    const err = configError(() => parse("archs:\n  - x86_64\n  - sparc64\n"));
    assert.match(err.message, /apko\.yaml:3:5: archs\[1\]: unknown architecture "sparc64"/);
    assert.match(
      configError(() => parse("archs: [x86_64, all]\n")).message,
      /archs\[1\]: "all" must be the only entry/,
    );
  });

  test("users: uid 0 is refused; gid, shell and home default", () => {
    const err = configError(() =>
      parse(
        "accounts:\n  users:\n    - username: nonroot\n      uid: 65532\n    - username: root2\n      uid: 0\n",
      ),
    );
    assert.equal(err.issues.length, 1);
    assert.match(err.message, /apko\.yaml:6:12: accounts\.users\[1\]\.uid: uid 0 is refused/);

    const cfg = parse(
      "accounts:\n  run-as: 65532\n  users:\n    - username: nonroot\n      uid: 65532\n    - username: svc\n      uid: 100\n      gid: 101\n      shell: /sbin/nologin\n      homedir: /var/svc\n  groups:\n    - groupname: svc\n      gid: 101\n      members: [svc]\n    - groupname: nonroot\n      gid: 65532\n",
    );
    assert.equal(cfg.accounts.runAs, "65532");
    assert.deepEqual(cfg.accounts.users, [
      { username: "nonroot", uid: 65532, gid: 65532, shell: "/bin/sh", homedir: "/home/nonroot" },
      { username: "svc", uid: 100, gid: 101, shell: "/sbin/nologin", homedir: "/var/svc" },
    ]);
    assert.deepEqual(cfg.accounts.groups, [
      { groupname: "svc", gid: 101, members: ["svc"] },
      { groupname: "nonroot", gid: 65532, members: [] },
    ]);
    // apko allows a group with gid 0.
    assert.deepEqual(
      parse("accounts:\n  groups:\n    - {groupname: wheel, gid: 0, members: [a]}\n").accounts.groups,
      [{ groupname: "wheel", gid: 0, members: ["a"] }],
    );
    // format: tar is what we write; erofs is refused by name.
    parse("format: tar\n");
    assert.match(configError(() => parse("format: erofs\n")).message, /format "erofs" is not supported/);
    assert.match(configError(() => parse("format: zip\n")).message, /format/);
    assert.match(
      configError(() =>
        parse("accounts:\n  users:\n    - {username: a, uid: 5}\n    - {username: a, uid: 6}\n"),
      ).message,
      /accounts\.users: user "a" is defined twice/,
    );
  });

  test("entrypoint and cmd are shell-split; shell-fragment runs under /bin/sh -c", () => {
    const cfg = parse(
      `entrypoint:\n  command: /usr/bin/app --name "my app" --x='a b' plain\\ word\ncmd: serve --port 8080\n`,
    );
    assert.deepEqual(cfg.entrypoint.command, ["/usr/bin/app", "--name", "my app", "--x=a b", "plain word"]);
    assert.deepEqual(cfg.cmd, ["serve", "--port", "8080"]);
    assert.deepEqual(parse("entrypoint:\n  shell-fragment: echo $HOME && exec app\n").entrypoint.command, [
      "/bin/sh",
      "-c",
      "echo $HOME && exec app",
    ]);
    const err = configError(() => parse("entrypoint:\n  command: /bin/app 'unterminated\n"));
    assert.match(
      err.message,
      /apko\.yaml:2:12: entrypoint\.command: cannot split into words: unterminated single quote/,
    );
    assert.match(
      configError(() => parse("entrypoint:\n  command: a\n  shell-fragment: b\n")).message,
      /entrypoint: give either command or shell-fragment, not both/,
    );
  });

  test("shell words: POSIX quoting without expansion", () => {
    assert.deepEqual(splitShellWords(""), []);
    assert.deepEqual(splitShellWords("  a  b\tc\n d "), ["a", "b", "c", "d"]);
    assert.deepEqual(splitShellWords(`'a"b' "c'd" "e\\"f" "g\\h" 'i\\j'`), [
      `a"b`,
      "c'd",
      `e"f`,
      "g\\h",
      "i\\j",
    ]);
    assert.deepEqual(splitShellWords(`"" ''`), ["", ""]);
    assert.deepEqual(splitShellWords("a\\\nb c \\\n d"), ["ab", "c", "d"]);
    assert.deepEqual(splitShellWords("$HOME #not-a-comment *"), ["$HOME", "#not-a-comment", "*"]);
    assert.deepEqual(splitShellWords(`x"y z"'w'`), ["xy zw"]);
    assert.throws(() => splitShellWords(`"open`), /unterminated double quote/);
    assert.throws(() => splitShellWords("end\\"), /unfinished escape/);
  });

  test("service bundles run s6 and bring its package", () => {
    const cfg = parse(
      "contents: {packages: [nginx]}\nentrypoint:\n  type: service-bundle\n  services:\n    web: /usr/sbin/nginx\n",
    );
    assert.deepEqual(cfg.entrypoint, {
      type: "service-bundle",
      command: ["/bin/s6-svscan", "/sv"],
      services: { web: "/usr/sbin/nginx" },
    });
    assert.deepEqual(cfg.contents.packages, ["nginx", "s6"]);
    assert.match(
      configError(() => parse("entrypoint: {type: oneshot}\n")).message,
      /"oneshot" is not one of "service-bundle"/,
    );
  });

  test("environment: PATH and SSL_CERT_FILE added when absent, keys sorted", () => {
    const cfg = parse("environment:\n  ZED: z\n  PATH: /custom/bin\n  A: a\n");
    assert.deepEqual(Object.entries(cfg.environment), [
      ["A", "a"],
      ["PATH", "/custom/bin"],
      ["SSL_CERT_FILE", DEFAULT_SSL_CERT_FILE],
      ["ZED", "z"],
    ]);
  });

  test("paths: types, octal permissions, link sources", () => {
    const cfg = parse(
      "paths:\n  - {path: /app, type: directory, uid: 65532, gid: 65532, permissions: 0o755, recursive: true}\n  - {path: /app/log, type: empty-file, permissions: 0644}\n  - {path: /bin/app, type: symlink, source: /app/bin/app}\n  - {path: /data, type: permissions, permissions: 493}\n",
    );
    assert.deepEqual(cfg.paths, [
      { path: "/app", type: "directory", uid: 65532, gid: 65532, permissions: 0o755, recursive: true },
      { path: "/app/log", type: "empty-file", permissions: 0o644, recursive: false },
      { path: "/bin/app", type: "symlink", source: "/app/bin/app", recursive: false },
      { path: "/data", type: "permissions", permissions: 493, recursive: false },
    ]);
    assert.match(
      configError(() => parse("paths:\n  - {path: /l, type: hardlink}\n")).message,
      /a hardlink needs a source/,
    );
    assert.match(
      configError(() => parse("paths:\n  - {path: /l, type: fifo}\n")).message,
      /"fifo" is not one of "directory"/,
    );
    assert.match(
      configError(() => parse("paths:\n  - {path: /l, type: directory, permissions: 0999}\n")).message,
      /is not permission bits/,
    );
    const fromObject = validateApkoConfig(
      { paths: [{ path: "/x", type: "directory", permissions: "755" }] },
      "obj",
    );
    assert.equal(fromObject.paths[0]!.permissions, 0o755);
  });

  test("repositories: pinned @tags, build-only and runtime-only lists, URLs normalized", () => {
    const cfg = parse(
      "contents:\n  repositories:\n    - '@local ./repo'\n    - https://dl-cdn.alpinelinux.org/alpine/edge/main/\n    - file:///srv/apk\n  build_repositories: [./packages]\n  runtime_repositories: [apk.cgr.dev/runtime-only-repo]\n  runtime_keyring:\n    - {name: k.rsa.pub, content: PEM}\n",
    );
    assert.deepEqual(cfg.contents.repositories, [
      { raw: "@local ./repo", tag: "local", kind: "local", location: "/etc/test/repo" },
      {
        raw: "https://dl-cdn.alpinelinux.org/alpine/edge/main/",
        kind: "url",
        location: "https://dl-cdn.alpinelinux.org/alpine/edge/main",
      },
      { raw: "file:///srv/apk", kind: "local", location: "/srv/apk" },
    ]);
    assert.deepEqual(cfg.contents.buildRepositories, [
      { raw: "./packages", kind: "local", location: "/etc/test/packages" },
    ]);
    assert.deepEqual(cfg.contents.runtimeRepositories, ["apk.cgr.dev/runtime-only-repo"]);
    assert.deepEqual(cfg.contents.runtimeKeyring, [{ name: "k.rsa.pub", content: "PEM" }]);
    assert.match(
      configError(() => parse("contents:\n  repositories: [s3://bucket/repo]\n")).message,
      /apko\.yaml:2:18: contents\.repositories\[0\]: "s3:\/\/bucket\/repo": only http\(s\) URLs and local paths/,
    );
  });

  test("unsupported features are refused with the line: a remote base image, a layering strategy apko lacks", () => {
    const err = configError(() =>
      parse("contents:\n  baseimage:\n    image: https://example.com/base\n    apkindex: ./idx\n"),
    );
    assert.match(err.message, /apko\.yaml:3:\d+: contents\.baseimage\.image: .*only a local directory/);
    assert.match(
      configError(() => parse("layering: {strategy: size, budget: 3}\n")).message,
      /apko\.yaml:1:\d+: layering: unrecognized layering strategy "size"/,
    );
    assert.match(
      configError(() => parse("layering: {budget: 3}\n")).message,
      /unrecognized layering strategy ""/,
    );
    assert.deepEqual(parse("layering: {strategy: origin}\n").layering, { strategy: "origin", budget: 0 });
  });

  test("vcs-url splits into url and commit; annotations and volumes kept", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const cfg = parse(
      `vcs-url: https://github.com/org/repo@${sha}\nannotations: {b: "2", a: "1"}\nvolumes: [/data]\n`,
    );
    assert.deepEqual(cfg.vcs, { url: "https://github.com/org/repo", commit: sha });
    assert.deepEqual(Object.keys(cfg.annotations), ["a", "b"]);
    assert.deepEqual(cfg.volumes, ["/data"]);
    assert.deepEqual(parse("vcs-url: git@github.com:org/repo\n").vcs, { url: "git@github.com:org/repo" });
  });

  test("errors name the line: unknown keys and wrong types", () => {
    const err = configError(() => parse("contents:\n  packages: busybox\nentrypoint:\n  comand: /bin/sh\n"));
    assert.deepEqual(
      err.issues.map((i) => `${i.loc?.line}:${i.loc?.col} ${i.path}`),
      ["2:13 contents.packages", "4:3 entrypoint.comand"],
    );
    assert.match(err.message, /contents\.packages: expected a list, got a string/);
    assert.match(err.message, /entrypoint\.comand: unknown field \(did you mean "command"\?\)/);
  });

  test("config objects (DistrolessImage.config) take camelCase keys and paths relative to baseDir", () => {
    const cfg = validateApkoConfig(
      {
        contents: {
          repositories: ["./repo"],
          buildRepositories: ["https://example.com/build"],
          packages: ["app"],
        },
        entrypoint: { shellFragment: "exec app" },
        stopSignal: "SIGTERM",
        workDir: "/app",
        accounts: { runAs: "app", users: [{ username: "app", uid: 1001 }] },
        vcsUrl: "https://example.com/src",
        archs: ["amd64"],
      },
      "DistrolessImage(app).config",
      { baseDir: "/srv/images" },
    );
    assert.equal(cfg.contents.repositories[0]!.location, "/srv/images/repo");
    assert.equal(cfg.contents.buildRepositories[0]!.location, "https://example.com/build");
    assert.deepEqual(cfg.entrypoint.command, ["/bin/sh", "-c", "exec app"]);
    assert.equal(cfg.stopSignal, "SIGTERM");
    assert.equal(cfg.workDir, "/app");
    assert.equal(cfg.accounts.runAs, "app");
    assert.deepEqual(cfg.archs, ["x86_64"]);
    const err = configError(() => validateApkoConfig({ contents: { pakages: ["x"] } }, "obj"));
    assert.equal(
      err.message,
      'obj: contents.pakages: unknown field (did you mean "packages"?); expected one of: repositories, build_repositories, runtime_repositories, keyring, runtime_keyring, packages, baseimage',
    );
  });

  test("include (deprecated in apko): a local file is the base, the config laid over it", () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, "base.yaml"),
      "contents:\n  repositories: [./base-repo]\n  keyring: [./base.rsa.pub]\n  packages: [baselayout]\nenvironment: {A: base, B: base}\ncmd: base-cmd\naccounts:\n  run-as: 1000\n  users: [{username: u, uid: 1000}]\n",
    );
    const cfg = parseApkoConfig(
      "include: base.yaml\ncontents:\n  repositories: [./top-repo]\n  packages: [app]\nenvironment: {B: top}\n",
      path.join(dir, "top.yaml"),
    );
    assert.deepEqual(
      cfg.contents.repositories.map((r) => r.location),
      [path.join(dir, "base-repo"), path.join(dir, "top-repo")],
    );
    assert.deepEqual(
      cfg.contents.keyring.map((k) => k.location),
      [path.join(dir, "base.rsa.pub")],
    );
    assert.deepEqual(cfg.contents.packages, ["baselayout", "app"]);
    assert.deepEqual(cfg.cmd, ["base-cmd"]);
    assert.equal(cfg.environment.A, "base");
    assert.equal(cfg.environment.B, "top");
    assert.equal(cfg.accounts.users[0]!.username, "u");

    assert.match(
      configError(() => parseApkoConfig("include: https://example.com/x.yaml\n", path.join(dir, "r.yaml")))
        .message,
      /include: only local files can be included/,
    );
    writeFileSync(path.join(dir, "loop.yaml"), "include: loop.yaml\n");
    assert.match(
      configError(() => parseApkoConfig("include: loop.yaml\n", path.join(dir, "x.yaml"))).message,
      /include cycle/,
    );
    assert.match(
      configError(() => parseApkoConfig("include: missing.yaml\n", path.join(dir, "x.yaml"))).message,
      /x\.yaml:1:10: include: cannot read/,
    );
  });
});
