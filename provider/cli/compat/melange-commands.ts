import type { GoCommand, GoFlag } from "./go-flags";

/*
 * melange's commands and flags as melange v0.59 spells them (checked against `melange <cmd> --help`),
 * each with what it does here. One table per command: it parses the command line and prints --help.
 */

function refused(reason: string, ...flags: [name: string, kind: GoFlag["kind"]][]): GoFlag[] {
  return flags.map(([name, kind]) => ({ name, kind, help: "", unsupported: reason }));
}

const ARCH: GoFlag = {
  name: "arch",
  kind: "strings",
  help: "architectures (x86_64, amd64, aarch64, arm64, ...); default: the host's (melange: every target arch)",
};
const SIGNING_KEY: GoFlag = {
  name: "signing-key",
  kind: "string",
  help: "RSA private key that signs the apks",
};
const OUT_DIR: GoFlag = {
  name: "out-dir",
  kind: "string",
  help: "where apks go, as OUT/ARCH/ (default ./packages/)",
};
const VARS_FILE: GoFlag = { name: "vars-file", kind: "string", help: "YAML map of recipe vars to set" };
const BUILD_OPTION: GoFlag = {
  name: "build-option",
  kind: "strings",
  help: "build options of the recipe to enable",
};
const PIPELINE_DIR: GoFlag = {
  name: "pipeline-dir",
  kind: "string",
  help: "directory of extra `uses:` pipelines",
};
const BUILD_DATE: GoFlag = { name: "build-date", kind: "string", help: "RFC 3339 date (SOURCE_DATE_EPOCH)" };

/** The resource and sandbox knobs of melange's docker/qemu runners; our sandbox has no such settings. */
const RUNNER_KNOBS = refused(
  "our sandbox has no resource or debugging knobs",
  ["cpu", "string"],
  ["cpumodel", "string"],
  ["memory", "string"],
  ["disk", "string"],
  ["timeout", "string"],
  ["interactive", "bool"],
  ["debug-runner", "bool"],
);
/** melange builds in this very dir; ours makes its scratch dir inside the one given. */
const WORKSPACE_DIR = refused(
  "melange builds in that dir itself; `pulumi-distroless package --workspace-dir DIR` makes its scratch dir inside DIR",
  ["workspace-dir", "string"],
);
const PROVENANCE = refused(
  "build logs and SBOM git metadata are not written",
  ["create-build-log", "bool"],
  ["dependency-log", "string"],
  ["git-commit", "string"],
  ["git-repo-url", "string"],
  ["license", "string"],
  ["trace", "string"],
);
const ENVIRONMENT_KNOBS = refused(
  "the build environment is exactly the recipe's environment.contents",
  ["package-append", "strings"],
  ["ignore-signatures", "bool"],
  ["strip-origin-name", "bool"],
  ["override-host-triplet-libc-substitution-flavor", "string"],
  ["cache-source", "string"],
  ["empty-workspace", "bool"],
);

export const MELANGE_BUILD: GoCommand = {
  name: "build",
  summary: "build a recipe's apks in our sandbox; writes OUT/ARCH/*.apk and a signed APKINDEX.tar.gz",
  usage: "build [melange.yaml] [flags]",
  example: "build melange.yaml --signing-key melange.rsa --arch amd64",
  flags: [
    ARCH,
    SIGNING_KEY,
    OUT_DIR,
    {
      name: "runner",
      kind: "string",
      help: "bubblewrap or docker: our bubblewrap sandbox (qemu is refused); default: our auto choice",
    },
    {
      name: "source-dir",
      kind: "string",
      help: "copied into the workspace (default: the recipe's directory)",
    },
    {
      name: "env-file",
      kind: "strings",
      help: "KEY=VALUE lines set in the build environment (the recipe's environment wins)",
    },
    VARS_FILE,
    {
      name: "generate-index",
      kind: "bool",
      help: "write OUT/ARCH/APKINDEX.tar.gz over every apk there (default true; signed with --signing-key)",
    },
    BUILD_OPTION,
    PIPELINE_DIR,
    { name: "pipeline-dirs", kind: "strings", help: "several directories of extra pipelines" },
    {
      name: "keyring-append",
      short: "k",
      kind: "strings",
      help: "extra keys trusted for the build environment's repositories",
    },
    {
      name: "repository-append",
      short: "r",
      kind: "strings",
      help: "extra repositories for the build environment",
    },
    { name: "namespace", kind: "string", help: "packager namespace for the SBOM purls (default unknown)" },
    { name: "apk-cache-dir", kind: "string", help: "our cache directory (indexes, apks, build guests)" },
    BUILD_DATE,
    { name: "rm", kind: "bool", help: "remove the workspace afterwards (default true; --rm=false keeps it)" },
    { name: "cleanup", kind: "bool", help: "same as --rm" },
    { name: "debug", kind: "bool", help: "accepted; every step's output is shown anyway" },
    ...refused("melange's input cache is our cache directory's melange-cache (use --apk-cache-dir)", [
      "cache-dir",
      "string",
    ]),
    {
      name: "lint-require",
      kind: "strings",
      help: "linters whose findings fail the build (given, they replace melange's required set)",
    },
    {
      name: "lint-warn",
      kind: "strings",
      help: "linters whose findings are warnings (given, they replace melange's warn set)",
    },
    ...refused("lint findings are printed, not written to files", ["persist-lint-results", "bool"]),
    {
      name: "generate-provenance",
      kind: "bool",
      help: "write SLSA provenance (NAME-VER.attest.tar.gz) beside each apk",
    },
    ...RUNNER_KNOBS,
    ...WORKSPACE_DIR,
    ...PROVENANCE,
    ...ENVIRONMENT_KNOBS,
  ],
};

export const MELANGE_KEYGEN: GoCommand = {
  name: "keygen",
  summary: "generate an RSA signing key pair: KEY and KEY.pub (default melange.rsa)",
  usage: "keygen [KEY] [--key-size BITS]",
  example: "keygen melange.rsa",
  flags: [{ name: "key-size", kind: "string", help: "RSA modulus bits (default 4096)" }],
};

export const MELANGE_INDEX: GoCommand = {
  name: "index",
  summary: "write an APKINDEX.tar.gz for apk files, optionally signed",
  usage: "index -o APKINDEX.tar.gz APK... [flags]",
  example: "index -o packages/x86_64/APKINDEX.tar.gz packages/x86_64/*.apk --signing-key melange.rsa",
  flags: [
    { name: "output", short: "o", kind: "string", help: "the index file (default APKINDEX.tar.gz)" },
    { name: "arch", short: "a", kind: "string", help: "index only the apks of this architecture" },
    SIGNING_KEY,
    ...refused("the index is written from the apks given", ["merge", "bool"]).map((f) => ({
      ...f,
      short: "m",
    })),
    ...refused("the index is written from the apks given", ["source", "string"]).map((f) => ({
      ...f,
      short: "s",
    })),
  ],
};

export const MELANGE_SIGN_INDEX: GoCommand = {
  name: "sign-index",
  summary: "sign an APKINDEX.tar.gz in place (an index signed already is left alone without --force)",
  usage: "sign-index [--signing-key KEY] APKINDEX.tar.gz [--force]",
  example: "sign-index --signing-key melange.rsa packages/x86_64/APKINDEX.tar.gz",
  flags: [
    { name: "signing-key", kind: "string", help: "the private key (default melange.rsa)" },
    { name: "force", short: "f", kind: "bool", help: "replace existing signatures with this key's" },
  ],
};

export const MELANGE_COMPILE: GoCommand = {
  name: "compile",
  summary: "print the recipe compiled for one arch (substitutions done, pipelines expanded) as JSON",
  usage: "compile [melange.yaml] [flags]",
  example: "compile melange.yaml --arch amd64",
  flags: [
    { name: "arch", kind: "string", help: "the architecture (default: the host's)" },
    BUILD_OPTION,
    PIPELINE_DIR,
    VARS_FILE,
    BUILD_DATE,
    ...refused(
      "compile prints the plan only; build flags have no effect here",
      ["signing-key", "string"],
      ["out-dir", "string"],
      ["runner", "string"],
    ),
  ],
};

export const MELANGE_COMMANDS: GoCommand[] = [
  MELANGE_BUILD,
  MELANGE_KEYGEN,
  MELANGE_INDEX,
  MELANGE_SIGN_INDEX,
  MELANGE_COMPILE,
];
