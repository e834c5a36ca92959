/**
 * The generated image cases: package sets (one feature each, then all together) crossed with config
 * variants (entrypoint/cmd, environment, accounts, paths, annotations, volumes) over several archs.
 * Each case is an apko.yaml body without `contents.repositories`/`keyring` (the harness adds the
 * local repository and its key, so apko and we read the very same files).
 */
import { CONFORMANCE_ARCHS, type ConformanceArch } from "./packages";

export interface ImageCase {
  name: string;
  archs: ConformanceArch[];
  packages: string[];
  /** Top-level apko.yaml keys besides contents and archs. */
  extra: Record<string, unknown>;
}

const BASE = "conf-baselayout";

const PACKAGE_SETS: Record<string, string[]> = {
  base: [BASE],
  modes: [BASE, "conf-modes"],
  owners: [BASE, "conf-owners"],
  links: [BASE, "conf-links"],
  longnames: [BASE, "conf-longnames"],
  xattrs: [BASE, "conf-xattrs"],
  replaces: [BASE, "conf-replaced", "conf-replacer"],
  virtual: [BASE, "conf-virtual"],
  "virtual-pick": [BASE, "conf-impl-a"],
  deps: ["conf-app"],
  "so-dep": [BASE, "so:libfoo.so.1"],
  "cmd-dep": [BASE, "cmd:conf-app"],
  newest: [BASE, "conf-multi"],
  pinned: [BASE, "conf-multi=1.2-r1"],
  below: [BASE, "conf-multi<2"],
  fuzzy: [BASE, "conf-multi~1"],
  scripts: [BASE, "conf-scripts"],
  "dir-modes": [BASE, "conf-modes", "conf-dirmodes"],
  homes: [BASE, "conf-homes"],
  "etc-apk": [BASE, "conf-etc-apk"],
  "no-baselayout": ["conf-multi", "conf-links"],
  everything: [
    BASE,
    "conf-modes",
    "conf-owners",
    "conf-links",
    "conf-longnames",
    "conf-xattrs",
    "conf-replaced",
    "conf-replacer",
    "conf-virtual",
    "conf-app",
    "conf-multi",
    "conf-scripts",
    "conf-homes",
    "conf-etc-apk",
  ],
};

const VARIANTS: Record<string, Record<string, unknown>> = {
  plain: {},
  entrypoint: {
    entrypoint: { command: "/usr/bin/conf-app --serve" },
    cmd: "--port 8080",
    "work-dir": "/home",
    "stop-signal": "SIGTERM",
  },
  environment: { environment: { FOO: "bar", PATH: "/usr/bin:/bin", A_FIRST: "1", HTML: "<a&b>" } },
  accounts: {
    accounts: {
      groups: [{ groupname: "svc", gid: 65532, members: ["svc"] }],
      users: [{ username: "svc", uid: 65532, gid: 65532 }],
      "run-as": "svc",
    },
  },
  "accounts-uid": {
    accounts: {
      users: [{ username: "app", uid: 1000, homedir: "/app", shell: "/bin/false" }],
      "run-as": "1000",
    },
  },
  paths: {
    paths: [
      { path: "/data", type: "directory", uid: 65532, gid: 65532, permissions: 0o750 },
      { path: "/etc/flag", type: "empty-file", permissions: 0o644 },
      { path: "/usr/local/bin/hostname", type: "symlink", source: "/etc/hostname" },
      { path: "/etc/hostname2", type: "hardlink", source: "/etc/hostname" },
      { path: "/etc/hostname", type: "permissions", permissions: 0o600 },
    ],
  },
  annotations: {
    annotations: {
      "org.opencontainers.image.title": "conformance",
      "org.opencontainers.image.source": "https://example.com/conformance",
    },
  },
  volumes: { volumes: ["/data", "/cache"], "work-dir": "/data" },
};

/** Every generated case: each package set plain, then each again with a variant, then multi-arch. */
export function imageCases(): ImageCase[] {
  const cases: ImageCase[] = [];
  const variantNames = Object.keys(VARIANTS).filter((v) => v !== "plain");
  const setNames = Object.keys(PACKAGE_SETS);
  setNames.forEach((set, i) => {
    const arch = CONFORMANCE_ARCHS[i % CONFORMANCE_ARCHS.length]!;
    cases.push({ name: `${set}/plain`, archs: [arch], packages: PACKAGE_SETS[set]!, extra: {} });
    const variant = variantNames[i % variantNames.length]!;
    // The variant's paths need etc/hostname, which only the baselayout has.
    if (variant === "paths" && !PACKAGE_SETS[set]!.includes(BASE)) return;
    cases.push({
      name: `${set}/${variant}`,
      archs: [CONFORMANCE_ARCHS[(i + 1) % CONFORMANCE_ARCHS.length]!],
      packages: PACKAGE_SETS[set]!,
      extra: VARIANTS[variant]!,
    });
  });
  for (const variant of variantNames) {
    cases.push({
      name: `everything+modes/${variant}`,
      archs: ["x86_64"],
      packages: PACKAGE_SETS.everything!,
      extra: VARIANTS[variant]!,
    });
  }
  cases.push(
    { name: "base/two-archs", archs: ["x86_64", "aarch64"], packages: PACKAGE_SETS.base!, extra: {} },
    {
      name: "deps/two-archs",
      archs: ["aarch64", "riscv64"],
      packages: PACKAGE_SETS.deps!,
      extra: VARIANTS.entrypoint!,
    },
    {
      name: "everything/all-archs",
      archs: [...CONFORMANCE_ARCHS],
      packages: PACKAGE_SETS.everything!,
      extra: VARIANTS.accounts!,
    },
  );
  return cases;
}

/** The apko.yaml body of a case, given the repository and key every case shares. */
export function caseConfig(c: ImageCase, repository: string, keyFile: string): Record<string, unknown> {
  return {
    contents: { keyring: [keyFile], repositories: [repository], packages: c.packages },
    archs: c.archs,
    ...c.extra,
  };
}
