/**
 * The melange recipe schema: every field melange's Configuration accepts. Unknown fields are errors;
 * checks that need only one field are done here so their errors carry the line.
 */
import {
  bool,
  custom,
  def,
  type Infer,
  int,
  lazy,
  list,
  object,
  oneOf,
  opt,
  record,
  refine,
  req,
  type Schema,
  str,
  transform,
} from "../../config";
import { apkoRawSchema } from "../../image/config/schema";
import { compileGoRegexp, GoRegexpError } from "./go-regexp";
import { pipelineStep } from "./schema-pipeline";

const text = () => str();
const word = () => str({ nonEmpty: true });
const words = () => list(word());

/** Accepted by melange for (sub)package names, checked after substitutions. */
export const PACKAGE_NAME = /^[a-zA-Z\d][a-zA-Z\d+_.-]*$/;

export interface Copyright {
  paths?: string[];
  attestation?: string;
  license?: string;
  licensePath?: string;
  detectionOverride?: string;
  operator?: "AND" | "OR";
  licenses?: Copyright[];
}

const copyright: Schema<Copyright> = refine(
  object({
    paths: opt(words()),
    attestation: opt(text()),
    license: opt(word()),
    "license-path": opt(word()),
    "detection-override": opt(text()),
    operator: opt(oneOf(["AND", "OR"])),
    licenses: opt(list(lazy((): Schema<Copyright> => copyright))),
  }),
  (c) => {
    const grouping = c.operator !== undefined || c.licenses !== undefined;
    if (grouping && c.license !== undefined)
      return "give either license or a group (operator + licenses), not both";
    if (!grouping && c.license === undefined) return "needs a license, or a group (operator + licenses)";
    if (grouping && (c.licenses ?? []).length === 0)
      return "a license group needs at least one entry in licenses";
    return undefined;
  },
);

const dependencies = object({
  runtime: opt(words()),
  provides: opt(words()),
  replaces: opt(words()),
  "provider-priority": opt(word()),
  "replaces-priority": opt(word()),
});

const packageOptions = object({
  "no-provides": opt(bool()),
  "no-depends": opt(bool()),
  "no-commands": opt(bool()),
  "no-versioned-shlib-deps": opt(bool()),
});

const scriptlets = object({
  trigger: opt(object({ script: opt(text()), paths: opt(words()) })),
  "pre-install": opt(text()),
  "post-install": opt(text()),
  "pre-deinstall": opt(text()),
  "post-deinstall": opt(text()),
  "pre-upgrade": opt(text()),
  "post-upgrade": opt(text()),
});

const checks = object({ enabled: opt(words()), disabled: opt(words()) });

const CPE_FIELD = /^[a-z\d][a-z\d+_.-]*$/;
const cpeField = () =>
  str({ pattern: CPE_FIELD, patternHint: "a CPE value (lowercase letters, digits, + _ . -)" });
const cpe = refine(
  object({
    part: opt(oneOf(["a"])),
    vendor: opt(cpeField()),
    product: opt(cpeField()),
    edition: opt(cpeField()),
    language: opt(cpeField()),
    sw_edition: opt(cpeField()),
    target_sw: opt(cpeField()),
    target_hw: opt(cpeField()),
    other: opt(cpeField()),
  }),
  (c) =>
    (c.vendor === undefined) !== (c.product === undefined) ? "vendor and product go together" : undefined,
);

/** Capabilities melange lets packages set on files (the ones in use in real package specs). */
const SETCAP_CAPABILITIES = new Set([
  "cap_net_bind_service",
  "cap_net_admin",
  "cap_net_raw",
  "cap_ipc_lock",
  "cap_sys_admin",
]);
const setcap = refine(object({ path: req(word()), add: req(record(word())), reason: req(word()) }), (c) => {
  for (const names of Object.keys(c.add)) {
    for (const cap of names.split(",")) {
      if (!SETCAP_CAPABILITIES.has(cap)) {
        return `capability ${JSON.stringify(cap)} is not one melange allows (${[...SETCAP_CAPABILITIES].join(", ")})`;
      }
    }
  }
  return undefined;
});

/** A Go duration ("90s", "1h30m") or an integer number of nanoseconds, as seconds. */
const duration: Schema<number> = custom("a duration", (node, at) => {
  if (node.kind === "scalar" && typeof node.value === "number" && Number.isSafeInteger(node.value)) {
    return node.value / 1e9;
  }
  if (node.kind === "scalar" && typeof node.value === "string") {
    const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    const parts = [...node.value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    if (parts.length > 0 && parts.map((p) => p[0]).join("") === node.value) {
      return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
    }
  }
  return at.fail('expected a duration such as "90m" or "1h30m"');
});

const resources = object({ cpu: opt(word()), cpumodel: opt(word()), memory: opt(word()), disk: opt(word()) });

const targetArchitecture = refine(words(), (archs) => {
  const known = new Set([
    "all",
    "x86",
    "386",
    "x86_64",
    "amd64",
    "aarch64",
    "arm64",
    "armhf",
    "armv7",
    "ppc64le",
    "s390x",
    "riscv64",
    "loongarch64",
    "loong64",
  ]);
  const bad = archs.find((a) => !known.has(a) && !a.includes("${{"));
  return bad === undefined ? undefined : `unknown architecture ${JSON.stringify(bad)}`;
});

const packageSchema = object({
  name: req(word()),
  version: req(word()),
  epoch: def(int({ min: 0 }), () => 0),
  description: opt(text()),
  annotations: opt(record(text())),
  url: opt(text()),
  commit: opt(text()),
  "target-architecture": opt(targetArchitecture),
  copyright: opt(list(copyright)),
  dependencies: opt(dependencies),
  options: opt(packageOptions),
  scriptlets: opt(scriptlets),
  checks: opt(checks),
  cpe: opt(cpe),
  setcap: opt(list(setcap)),
  timeout: opt(duration),
  resources: opt(resources),
  "test-resources": opt(resources),
});

const testSection = object({
  environment: opt(apkoRawSchema),
  pipeline: opt(list(pipelineStep)),
});

const subpackage = object({
  if: opt(text()),
  range: opt(word()),
  name: req(word()),
  pipeline: opt(list(pipelineStep)),
  dependencies: opt(dependencies),
  options: opt(packageOptions),
  scriptlets: opt(scriptlets),
  description: opt(text()),
  url: opt(text()),
  commit: opt(text()),
  checks: opt(checks),
  test: opt(testSection),
  setcap: opt(list(setcap)),
  annotations: opt(record(text())),
});

const versionFilters = {
  "strip-prefix": opt(text()),
  "strip-suffix": opt(text()),
};

/**
 * `update:` only drives Wolfi's update bot (which versions to track upstream); a build reads none
 * of it. It is validated as melange validates it so a Wolfi recipe is accepted as-is, and kept out
 * of the plan (changing it rebuilds nothing).
 */
const update = object({
  enabled: opt(bool()),
  manual: opt(bool()),
  "require-sequential": opt(bool()),
  shared: opt(bool()),
  "version-separator": opt(text()),
  "ignore-regex-patterns": opt(words()),
  "release-monitor": opt(
    object({
      identifier: req(int({ min: 0 })),
      ...versionFilters,
      "version-filter-contains": opt(text()),
      "version-filter-prefix": opt(text()),
    }),
  ),
  github: opt(
    object({
      identifier: req(word()),
      ...versionFilters,
      "tag-filter": opt(text()),
      "tag-filter-prefix": opt(text()),
      "tag-filter-contains": opt(text()),
      "use-tag": opt(bool()),
    }),
  ),
  git: opt(
    object({
      ...versionFilters,
      "tag-filter-prefix": opt(text()),
      "tag-filter-contains": opt(text()),
    }),
  ),
  "version-transform": opt(list(object({ match: req(word()), replace: def(text(), () => "") }))),
  "exclude-reason": opt(text()),
  schedule: opt(object({ reason: opt(text()), period: opt(oneOf(["daily", "weekly", "monthly"])) })),
  "enable-prerelease-tags": opt(bool()),
  oci: opt(
    object({
      identifier: req(word()),
      ...versionFilters,
      "tag-filter-prefix": opt(text()),
      "tag-filter-contains": opt(text()),
    }),
  ),
  version_data: opt(
    object({
      version_format: req(word()),
      sources: req(
        list(
          object({
            name: req(word()),
            stream: req(word()),
            ignore: opt(words()),
            commit_source: opt(text()),
            use_release: opt(bool()),
          }),
        ),
      ),
    }),
  ),
});

/** A Go regexp, checked (translated) at validation time so a bad pattern names its line. */
const goRegexp = transform(word(), (pattern, at) => {
  try {
    compileGoRegexp(pattern);
    return pattern;
  } catch (err) {
    if (err instanceof GoRegexpError) return at.fail(`invalid regular expression: ${err.message}`);
    throw err;
  }
});

const buildOption = object({
  vars: opt(record(text())),
  environment: opt(
    object({
      contents: opt(
        object({
          packages: opt(object({ add: opt(words()), remove: opt(words()) })),
        }),
      ),
    }),
  ),
});

export const recipeSchema = object({
  package: req(packageSchema),
  environment: opt(apkoRawSchema),
  capabilities: opt(object({ add: opt(words()), drop: opt(words()) })),
  pipeline: opt(list(pipelineStep)),
  subpackages: opt(list(subpackage)),
  data: opt(
    list(object({ name: req(word()), items: def(record(text()), (): Record<string, string> => ({})) })),
  ),
  update: opt(update),
  vars: opt(record(text())),
  "var-transforms": opt(
    list(
      object({ from: req(word()), match: req(goRegexp), replace: def(text(), () => ""), to: req(word()) }),
    ),
  ),
  options: opt(record(buildOption)),
  test: opt(testSection),
});

/** A validated recipe, as written (substitutions not applied). Field names are camelCase. */
export type Recipe = Infer<typeof recipeSchema>;
export type RecipePackage = Recipe["package"];
export type RecipeSubpackage = NonNullable<Recipe["subpackages"]>[number];
export type RecipeDependencies = NonNullable<RecipePackage["dependencies"]>;
export type RecipeTest = NonNullable<Recipe["test"]>;
export type RecipeCpe = NonNullable<RecipePackage["cpe"]>;
