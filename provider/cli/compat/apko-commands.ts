import type { GoCommand, GoFlag } from "./go-flags";

/*
 * apko's commands and flags as apko v1.2 spells them (checked against `apko <cmd> --help`), each with
 * what it does here. One table per command: it parses the command line and prints --help.
 */

const WORKDIR: GoFlag = {
  name: "workdir",
  short: "C",
  kind: "string",
  help: "working directory: relative paths on the command line are resolved against it",
};
const ARCH: GoFlag = {
  name: "arch",
  kind: "strings",
  help: "architectures (x86_64, amd64, aarch64, arm64, ..., host, all); default: the config's, else all",
};
const REPO_APPEND: GoFlag = {
  name: "repository-append",
  short: "r",
  kind: "strings",
  help: "extra repositories (URL or directory) to resolve from and write into the image",
};
const BUILD_REPO_APPEND: GoFlag = {
  name: "build-repository-append",
  short: "b",
  kind: "strings",
  help: "extra repositories to resolve from, not written into the image",
};
const KEYRING_APPEND: GoFlag = {
  name: "keyring-append",
  short: "k",
  kind: "strings",
  help: "extra public keys (file or URL) to trust",
};
const PACKAGE_APPEND: GoFlag = {
  name: "package-append",
  short: "p",
  kind: "strings",
  help: "extra packages to install",
};
const CACHE_DIR: GoFlag = { name: "cache-dir", kind: "string", help: "cache for indexes and apks" };
const OFFLINE: GoFlag = { name: "offline", kind: "bool", help: "use the cache only, no network" };
const IGNORE_SIGNATURES: GoFlag = {
  name: "ignore-signatures",
  kind: "bool",
  help: "accept unsigned or unknown-signer indexes (our --allow-untrusted)",
};
const BUILD_DATE: GoFlag = {
  name: "build-date",
  kind: "string",
  help: "RFC 3339 date for file times in the image (SOURCE_DATE_EPOCH)",
};
const ANNOTATIONS: GoFlag = {
  name: "annotations",
  kind: "strings",
  help: "OCI annotations KEY:VALUE on the index and manifests",
};
const LOCKFILE: GoFlag = {
  name: "lockfile",
  kind: "string",
  help: "an apko .lock.json the packages must match exactly",
};
const SBOM: GoFlag = {
  name: "sbom",
  kind: "bool",
  help: "write SPDX SBOMs (default true; --sbom=false writes none)",
};
const SBOM_FORMATS: GoFlag = {
  name: "sbom-formats",
  kind: "strings",
  help: "only spdx is written (the default); any other format is refused",
};
const VCS: GoFlag = {
  name: "vcs",
  kind: "bool",
  help: "annotate the image with the config's git origin and commit (default true)",
};
const INCLUDE_PATHS: GoFlag = {
  name: "include-paths",
  kind: "strings",
  help: "",
  unsupported: "includes are resolved relative to the config file only",
};
const SIZE_LIMITS: GoFlag[] = [
  "max-apk-control-size",
  "max-apk-data-size",
  "max-apkindex-decompressed-size",
  "max-http-response-size",
].map((name) => ({
  name,
  kind: "string",
  help: "",
  unsupported: "our size limits are fixed (they stop bombs, not real repositories)",
}));

export const APKO_BUILD: GoCommand = {
  name: "build",
  summary: "build an image into a docker-loadable tarball or an existing OCI layout directory",
  usage: "build CONFIG TAG OUTPUT.tar|EXISTING_DIR/ [flags]",
  example: "build apko.yaml app:latest out.tar -k melange.rsa.pub --arch amd64",
  flags: [
    ARCH,
    REPO_APPEND,
    BUILD_REPO_APPEND,
    KEYRING_APPEND,
    PACKAGE_APPEND,
    ANNOTATIONS,
    LOCKFILE,
    SBOM,
    { name: "sbom-path", kind: "string", help: "directory for the SBOMs (default: the working directory)" },
    SBOM_FORMATS,
    VCS,
    BUILD_DATE,
    CACHE_DIR,
    OFFLINE,
    IGNORE_SIGNATURES,
    INCLUDE_PATHS,
    ...SIZE_LIMITS,
    WORKDIR,
  ],
};

export const APKO_PUBLISH: GoCommand = {
  name: "publish",
  summary: "build an image and push it under every TAG; prints the index's digest reference",
  usage: "publish CONFIG TAG... [flags]",
  example: "publish apko.yaml registry.example.com/team/app:v1 -k melange.rsa.pub",
  flags: [
    ARCH,
    REPO_APPEND,
    BUILD_REPO_APPEND,
    KEYRING_APPEND,
    PACKAGE_APPEND,
    ANNOTATIONS,
    LOCKFILE,
    SBOM,
    { name: "sbom-path", kind: "string", help: "also write the SBOMs into this directory" },
    SBOM_FORMATS,
    VCS,
    BUILD_DATE,
    CACHE_DIR,
    OFFLINE,
    IGNORE_SIGNATURES,
    {
      name: "image-refs",
      kind: "string",
      help: "write the pushed references (per arch, then the index) into this file",
    },
    { name: "local", kind: "bool", help: "", unsupported: "there is no docker daemon step; use build" },
    WORKDIR,
  ],
};

export const APKO_LOCK: GoCommand = {
  name: "lock",
  summary: "resolve the config's packages and write an apko lock file",
  usage: "lock CONFIG [--output FILE] [flags]",
  example: "lock apko.yaml --output apko.lock.json",
  flags: [
    ARCH,
    REPO_APPEND,
    BUILD_REPO_APPEND,
    KEYRING_APPEND,
    { name: "output", kind: "string", help: "the lock file (default: CONFIG with .lock.json)" },
    CACHE_DIR,
    IGNORE_SIGNATURES,
    INCLUDE_PATHS,
    WORKDIR,
  ],
};

export const APKO_SHOW_CONFIG: GoCommand = {
  name: "show-config",
  summary: "print the config as it will be built (includes merged, appends applied) as YAML",
  usage: "show-config CONFIG [flags]",
  example: "show-config apko.yaml -r ./packages -k melange.rsa.pub",
  flags: [REPO_APPEND, BUILD_REPO_APPEND, KEYRING_APPEND, CACHE_DIR, OFFLINE, WORKDIR],
};

export const APKO_SHOW_PACKAGES: GoCommand = {
  name: "show-packages",
  summary: "print the packages the image would hold, one line each",
  usage: "show-packages CONFIG [flags]",
  example: "show-packages apko.yaml --arch amd64 --format name=version",
  flags: [
    ARCH,
    REPO_APPEND,
    BUILD_REPO_APPEND,
    KEYRING_APPEND,
    {
      name: "format",
      kind: "string",
      help: "name-version (default), name-version-source, name=version, name=version-source, name-(version), name-(version)-source, packagelock, packagelock-source, or a template of {{ .Name }} {{ .Version }} {{ .Source }}",
    },
    CACHE_DIR,
    OFFLINE,
    WORKDIR,
  ],
};

export const APKO_BUILD_MINIROOTFS: GoCommand = {
  name: "build-minirootfs",
  summary: "write the image's root file system (one arch) as a .tar.gz",
  usage: "build-minirootfs CONFIG OUTPUT.tar.gz [flags]",
  example: "build-minirootfs apko.yaml rootfs.tar.gz --build-arch amd64",
  flags: [
    { name: "build-arch", kind: "string", help: "the one architecture (default: the host's)" },
    REPO_APPEND,
    BUILD_REPO_APPEND,
    KEYRING_APPEND,
    PACKAGE_APPEND,
    { name: "sbom-path", kind: "string", help: "also write the SBOMs into this directory" },
    BUILD_DATE,
    IGNORE_SIGNATURES,
    ...SIZE_LIMITS,
    WORKDIR,
  ],
};

export const APKO_COMMANDS: GoCommand[] = [
  APKO_BUILD,
  APKO_PUBLISH,
  APKO_LOCK,
  APKO_SHOW_CONFIG,
  APKO_SHOW_PACKAGES,
  APKO_BUILD_MINIROOTFS,
];
