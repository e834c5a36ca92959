/**
 * `.melange.yaml` in each package's control segment: the configuration the package was built from,
 * as melange records it — the package metadata, the build environment with its packages pinned to
 * the resolved versions, and the compiled pipelines (substitutions done, `uses` expanded). Rendered
 * from the BuildPlan, so it is deterministic and never holds host paths of this machine.
 */
import { stringify } from "yaml";
import type { EnvironmentLock } from "../environment/lock";
import { lockPins } from "../environment/lock";
import type { BuildPlan, BuildStep, PackageMetadata, PlanDependencies } from "../recipe/plan";
import type { Copyright, RecipeCpe } from "../recipe/schema";

type Yaml = Record<string, unknown>;

function compact(o: Yaml): Yaml {
  const out: Yaml = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === "") continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out;
}

function copyright(c: Copyright): Yaml {
  return compact({
    paths: c.paths,
    attestation: c.attestation,
    license: c.license,
    "license-path": c.licensePath,
    "detection-override": c.detectionOverride,
    operator: c.operator,
    licenses: c.licenses?.map(copyright),
  });
}

function dependencies(d: PlanDependencies): Yaml {
  return compact({
    runtime: d.runtime,
    provides: d.provides,
    replaces: d.replaces,
    "provider-priority": d.providerPriority,
    "replaces-priority": d.replacesPriority,
  });
}

function options(m: PackageMetadata): Yaml {
  return compact({
    "no-provides": m.options.noProvides || undefined,
    "no-depends": m.options.noDepends || undefined,
    "no-commands": m.options.noCommands || undefined,
    "no-versioned-shlib-deps": m.options.noVersionedShlibDeps || undefined,
  });
}

function scriptlets(m: PackageMetadata): Yaml {
  const s = m.scriptlets;
  return compact({
    trigger: s.trigger ? compact({ script: s.trigger.script, paths: s.trigger.paths }) : undefined,
    "pre-install": s.preInstall,
    "post-install": s.postInstall,
    "pre-deinstall": s.preDeinstall,
    "post-deinstall": s.postDeinstall,
    "pre-upgrade": s.preUpgrade,
    "post-upgrade": s.postUpgrade,
  });
}

function cpe(c: RecipeCpe | undefined): Yaml | undefined {
  if (!c) return undefined;
  return compact({
    part: c.part,
    vendor: c.vendor,
    product: c.product,
    edition: c.edition,
    language: c.language,
    sw_edition: c.swEdition,
    target_sw: c.targetSw,
    target_hw: c.targetHw,
    other: c.other,
  });
}

function setcap(m: PackageMetadata): Yaml[] {
  return m.setcap.map((c) => ({ path: c.path, add: c.add, reason: c.reason }));
}

function steps(list: readonly BuildStep[], baseEnv: Record<string, string>): Yaml[] {
  return list.map((s) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.environment)) if (baseEnv[k] !== v) env[k] = v;
    return compact({
      name: s.name,
      "working-directory": s.workingDirectory === "/home/build" ? undefined : s.workingDirectory,
      environment: env,
      runs: s.script,
    });
  });
}

export function renderMelangeYaml(plan: BuildPlan, lock: EnvironmentLock): string {
  const p = plan.package;
  const env = plan.environment;
  const doc: Yaml = {
    package: compact({
      name: p.name,
      version: p.version,
      epoch: p.epoch,
      description: p.description,
      annotations: p.annotations,
      url: p.url,
      commit: p.commit,
      "target-architecture": p.targetArchitectures.includes("all") ? undefined : p.targetArchitectures,
      copyright: p.copyright.map(copyright),
      dependencies: dependencies(p.dependencies),
      options: options(p),
      scriptlets: scriptlets(p),
      cpe: cpe(p.cpe),
      setcap: setcap(p),
      timeout: p.timeoutSeconds,
    }),
    environment: compact({
      contents: compact({
        repositories: env.contents.repositories.map((r) => r.raw),
        keyring: env.contents.keyring.map((k) => k.raw),
        packages: lockPins(lock),
      }),
      accounts: compact({
        "run-as": env.accounts.runAs,
        users: env.accounts.users.map((u) => ({
          username: u.username,
          uid: u.uid,
          gid: u.gid,
          shell: u.shell,
          homedir: u.homedir,
        })),
        groups: env.accounts.groups.map((g) => ({ groupname: g.groupname, gid: g.gid, members: g.members })),
      }),
      archs: [plan.arch],
      environment: env.environment,
    }),
    capabilities: compact({ add: plan.capabilities.add, drop: plan.capabilities.drop }),
    vars: plan.vars,
    pipeline: steps(plan.steps, env.environment),
    subpackages: plan.subpackages.map((sp) =>
      compact({
        name: sp.name,
        description: sp.description,
        annotations: sp.annotations,
        url: sp.url,
        commit: sp.commit,
        dependencies: dependencies(sp.dependencies),
        options: options(sp),
        scriptlets: scriptlets(sp),
        pipeline: steps(sp.steps, env.environment),
        setcap: setcap(sp),
      }),
    ),
  };
  return stringify(compact(doc), { indent: 2, lineWidth: 0, sortMapEntries: false });
}
