/**
 * The apko.yaml schema (everything apko's ImageConfiguration accepts), with the checks that need a
 * position in the file done here so errors name the line: arch names, uid/gid 0, entrypoint type,
 * path mutation types and octal permissions, shell quoting, and the features we do not support.
 */
import {
  bool,
  custom,
  INVALID,
  type Infer,
  int,
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
import { worldEntryProblem } from "../../resolve/constraint";
import { ALL_ARCHS, type ApkArch, ARCH_NAMES, hostArch, parseArch } from "./arch";
import { type ShellWordsError, splitShellWords } from "./shell-words";

const nonEmpty = () => str({ nonEmpty: true });

/** A command line, split into argv at validation time so quoting errors name the line. */
const shellWords: Schema<string[]> = transform(str(), (text, at) => {
  try {
    return splitShellWords(text);
  } catch (err) {
    return at.fail(`cannot split into words: ${(err as ShellWordsError).message}`);
  }
});

/** A world entry (`name[@tag][op version]`), checked here so a bad one names its line. */
const worldEntry: Schema<string> = refine(nonEmpty(), (text) => {
  const problem = worldEntryProblem(text);
  return problem === undefined ? undefined : `invalid package constraint "${text}": ${problem}`;
});

const namedContent = object({ name: req(nonEmpty()), content: req(nonEmpty()) });

const contents = object({
  repositories: opt(list(nonEmpty())),
  build_repositories: opt(list(nonEmpty())),
  runtime_repositories: opt(list(nonEmpty())),
  keyring: opt(list(nonEmpty())),
  runtime_keyring: opt(list(namedContent)),
  packages: opt(list(worldEntry)),
  // apko's base image: an OCI layout and the directory holding `<arch>/APKINDEX`, the base's
  // installed packages (both required: apko fails on either missing).
  baseimage: opt(object({ image: req(nonEmpty()), apkindex: req(nonEmpty()) })),
});

const entrypoint = refine(
  object({
    type: opt(oneOf(["service-bundle"])),
    command: opt(shellWords),
    "shell-fragment": opt(str()),
    services: opt(record(nonEmpty())),
  }),
  (e) =>
    e.command !== undefined && e.shellFragment !== undefined
      ? "give either command or shell-fragment, not both"
      : e.services !== undefined && e.type !== "service-bundle"
        ? "services are only used with type: service-bundle"
        : undefined,
);

const uint32 = (min = 0) => int({ min, max: 0xffffffff });

const user = object({
  username: req(nonEmpty()),
  uid: req(
    refine(uint32(), (uid) =>
      uid === 0
        ? "uid 0 is refused: root comes from the base packages, configured users must have a uid above 0"
        : undefined,
    ),
  ),
  gid: opt(uint32()),
  shell: opt(nonEmpty()),
  homedir: opt(nonEmpty()),
});

const group = object({
  groupname: req(nonEmpty()),
  // gid 0 is allowed, as apko allows it (a group named for root's, or root's group with members).
  gid: req(uint32()),
  members: opt(list(nonEmpty())),
});

const accounts = object({
  "run-as": opt(nonEmpty()),
  users: opt(list(user)),
  groups: opt(list(group)),
});

/** `all` alone means every arch; `host` alone means this machine's. */
const archs: Schema<ApkArch[]> = custom("a list of architectures", (node, at) => {
  const names = list(nonEmpty()).parse(node, at);
  if (names === INVALID) return INVALID;
  if (names.length === 1 && names[0] === "all") return [...ALL_ARCHS];
  if (names.length === 1 && names[0] === "host") return [hostArch()];
  const out: ApkArch[] = [];
  let ok = true;
  names.forEach((name, i) => {
    const arch = parseArch(name);
    if (arch) out.push(arch);
    else {
      const child = node.kind === "seq" ? at.index(i, node.items[i]!) : at;
      child.fail(
        name === "all" || name === "host"
          ? `${JSON.stringify(name)} must be the only entry`
          : `unknown architecture ${JSON.stringify(name)}; expected one of ${ARCH_NAMES.join(", ")}, or all`,
      );
      ok = false;
    }
  });
  return ok ? out : INVALID;
});

/**
 * Permission bits. Numbers are read from the text as Go reads them (`0755` and `0o755` are octal,
 * `493` is decimal), so a YAML file means what it means to apko; strings are always octal ("755").
 */
const permissions: Schema<number> = custom("permission bits", (node, at) => {
  if (node.kind !== "scalar" || node.value === null || typeof node.value === "boolean") {
    return at.fail("expected permission bits such as 0755");
  }
  const text = node.text.replace(/_/g, "");
  let value: number;
  if (typeof node.value === "string")
    value = /^(0o?)?[0-7]+$/i.test(text) ? Number.parseInt(text.replace(/^0o?/i, "") || "0", 8) : Number.NaN;
  else if (/^0o[0-7]+$/i.test(text)) value = Number.parseInt(text.slice(2), 8);
  else if (/^0[0-7]+$/.test(text)) value = Number.parseInt(text, 8);
  else if (/^0x[0-9a-f]+$/i.test(text)) value = Number.parseInt(text.slice(2), 16);
  else if (/^(0|[1-9][0-9]*)$/.test(text)) value = Number.parseInt(text, 10);
  else value = Number.NaN;
  if (!Number.isInteger(value) || value < 0 || value > 0o7777) {
    return at.fail(`${JSON.stringify(node.text)} is not permission bits (octal, at most 07777)`);
  }
  return value;
});

const pathMutation = refine(
  object({
    path: req(nonEmpty()),
    type: req(oneOf(["directory", "empty-file", "hardlink", "symlink", "permissions"])),
    uid: opt(uint32()),
    gid: opt(uint32()),
    permissions: opt(permissions),
    source: opt(nonEmpty()),
    recursive: opt(bool()),
  }),
  (p) =>
    (p.type === "hardlink" || p.type === "symlink") && p.source === undefined
      ? `a ${p.type} needs a source (the link target)`
      : p.type === "permissions" && p.permissions === undefined
        ? "a permissions mutation needs permissions"
        : undefined,
);

const layering = custom("layering", (node, at) => {
  const parsed = object({ strategy: opt(str()), budget: opt(int({ min: 0 })) }).parse(node, at);
  if (parsed === INVALID) return INVALID;
  // An empty block asks for nothing, so it means the same single layer as no block at all; any
  // other block needs apko's one strategy (apko fails the build on another, so do we, earlier).
  if ((parsed.strategy ?? "") === "" && (parsed.budget ?? 0) === 0) return parsed;
  if (parsed.strategy !== "origin")
    return at.fail(
      `unrecognized layering strategy ${JSON.stringify(parsed.strategy ?? "")}: only "origin" exists`,
    );
  return parsed;
});

/** apko's `format`: a tar layer is what we write; erofs images are not supported. */
const format = custom("format", (node, at) => {
  const value = oneOf(["tar", "erofs"]).parse(node, at);
  if (value === "erofs")
    return at.fail(
      'format "erofs" is not supported: pulumi-distroless writes tar layers (use format: tar, or leave it out)',
    );
  return value;
});

export const apkoRawSchema = object({
  contents: opt(contents),
  entrypoint: opt(entrypoint),
  cmd: opt(shellWords),
  "stop-signal": opt(nonEmpty()),
  "work-dir": opt(nonEmpty()),
  accounts: opt(accounts),
  archs: opt(archs),
  environment: opt(record(str())),
  paths: opt(list(pathMutation)),
  "vcs-url": opt(nonEmpty()),
  annotations: opt(record(str())),
  include: opt(nonEmpty()),
  volumes: opt(list(nonEmpty())),
  layering: opt(layering),
  format: opt(format),
  certificates: opt(
    object({
      additional: opt(list(namedContent)),
      providers: opt(list(nonEmpty())),
    }),
  ),
});

/** The config as written (validated, not yet defaulted). */
export type RawApkoConfig = Infer<typeof apkoRawSchema>;
