import type { ApkArch } from "./arch";

/**
 * A repository entry as configured: a URL or a local directory, optionally pinned with an `@tag`
 * prefix (`@local /srv/repo`). Local paths are resolved against the config file's directory.
 */
export interface RepositoryRef {
  /** The entry as written in the config (what apko writes into /etc/apk/repositories). */
  raw: string;
  /** The `@tag` of a pinned repository, without the `@`. */
  tag?: string;
  kind: "url" | "local";
  /** The URL (trailing slashes removed), or the absolute local directory. */
  location: string;
}

/** A signing key to trust: a URL or a local file (resolved like repositories). */
export interface KeyRef {
  raw: string;
  kind: "url" | "local";
  location: string;
  /** The file name the key is installed as under etc/apk/keys/. */
  name: string;
}

/** An inline PEM blob with the file name it is installed as (runtime keys, extra certificates). */
export interface NamedContent {
  name: string;
  content: string;
}

export interface ApkoUser {
  username: string;
  /** Always > 0: uid 0 is refused (root comes from the base packages). */
  uid: number;
  /** Defaults to the uid. */
  gid: number;
  /** Defaults to /bin/sh. */
  shell: string;
  /** Defaults to /home/<username>. */
  homedir: string;
}

export interface ApkoGroup {
  groupname: string;
  gid: number;
  members: string[];
}

export type PathMutationType = "directory" | "empty-file" | "hardlink" | "symlink" | "permissions";

export interface PathMutation {
  path: string;
  type: PathMutationType;
  /** Unset leaves ownership as it is (apko semantics). */
  uid?: number;
  gid?: number;
  /** Permission bits (parsed as octal from `0755`, `0o755` or "755"); unset: as apko (0). */
  permissions?: number;
  /** For hardlink and symlink: the link target. */
  source?: string;
  recursive: boolean;
}

/**
 * A base image as configured: an OCI image layout and the directory holding `<apk arch>/APKINDEX`,
 * the list of packages installed in it (an installed database or APKINDEX text).
 */
export interface BaseImageRef {
  /** Absolute path of the OCI layout directory. */
  image: string;
  /** Absolute path of the directory with `<apk arch>/APKINDEX`. */
  apkindex: string;
  /** Both as written in the config (what etc/apko.json records). */
  written: { image: string; apkindex: string };
}

/**
 * A validated, normalized, fully-defaulted apko image configuration (apko.yaml or the
 * DistrolessImage `config` object).
 */
export interface ApkoConfig {
  /** The file (or source name) the config came from, for messages. */
  source: string;
  contents: {
    /** Used to resolve packages and written into etc/apk/repositories. */
    repositories: RepositoryRef[];
    /** Used to resolve packages, not written into the image. */
    buildRepositories: RepositoryRef[];
    /** Written into etc/apk/repositories, not used to resolve (kept exactly as written). */
    runtimeRepositories: string[];
    keyring: KeyRef[];
    /** Keys installed into etc/apk/keys for runtime `apk add`; not used to resolve. */
    runtimeKeyring: NamedContent[];
    /** apk constraints (`name`, `name=1.2-r0`, `name>1`, `cmd:sh`...), in config order. */
    packages: string[];
    /** apko's `contents.baseimage`: the image is built on top of this one. */
    baseImage?: BaseImageRef;
  };
  entrypoint: {
    type?: "service-bundle";
    /** argv: `command` shell-split, or `/bin/sh -c <shell-fragment>`; [] when unset. */
    command: string[];
    /** service name -> command, for `type: service-bundle`. */
    services: Record<string, string>;
  };
  /** argv from `cmd`, shell-split; [] when unset. */
  cmd: string[];
  stopSignal?: string;
  workDir?: string;
  accounts: {
    /** A user name or a numeric uid, as written. */
    runAs?: string;
    users: ApkoUser[];
    groups: ApkoGroup[];
  };
  /** apk arch names, deduped and in apko's order (sorted by OCI name). */
  archs: ApkArch[];
  /** False when the config named no archs and `archs` holds apko's default (all of them). */
  archsExplicit: boolean;
  /** Sorted by key; PATH and SSL_CERT_FILE defaults added when absent. */
  environment: Record<string, string>;
  paths: PathMutation[];
  annotations: Record<string, string>;
  volumes: string[];
  /** `vcs-url: <url>@<commit>`, split (apko turns these into source/revision annotations). */
  vcs?: { url: string; commit?: string };
  /** As written, for etc/apko.json (absent in configs built by hand: the normalized values serve). */
  written?: WrittenApko;
  /**
   * apko's `layering`: packages split into up to `budget` layers by origin plus a top layer.
   * Absent (or an empty block): one layer.
   */
  layering?: { strategy: "origin"; budget: number };
  certificates: {
    additional: NamedContent[];
    /** Virtual package names whose providers' certificates form the CA bundle. */
    providers: string[];
  };
}

/**
 * The parts of the config apko keeps as written in etc/apko.json, where we normalize or default
 * them: the environment without defaults, users without default gid/shell/homedir, the
 * shell-fragment and whether cmd/command were given at all.
 */
export interface WrittenApko {
  environment?: Record<string, string>;
  users: { username: string; uid: number; gid?: number; shell?: string; homedir?: string }[];
  shellFragment?: string;
  /** An empty `layering` block (the only one accepted) still shows in etc/apko.json. */
  layering?: { strategy?: string; budget?: number };
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin";
export const DEFAULT_SSL_CERT_FILE = "/etc/ssl/certs/ca-certificates.crt";
