import type { CliContext, Verb } from "../command";

/*
 * The compat commands translate a tool's command line into one of our verbs' and run it in-process,
 * so `apko build` and `build` share one implementation (and one set of checks).
 */
const VERBS: Record<string, () => Verb> = {
  build: () => require("../verbs/build").verb,
  lock: () => require("../verbs/lock").verb,
  keygen: () => require("../verbs/keygen").verb,
  index: () => require("../verbs/index-verb").verb,
  package: () => require("../verbs/package").verb,
};

export type OurVerb = keyof typeof VERBS;

/** Runs our verb with `argv`; `stdout` receives what it prints there (default: our stderr). */
export async function runOurVerb(
  ctx: CliContext,
  name: OurVerb,
  argv: string[],
  stdout: (text: string) => void = ctx.stderr,
): Promise<number> {
  const verb = VERBS[name]!();
  return verb.run({ ...ctx, argv, stdout });
}

/** Runs our verb with --json and returns its parsed result (the tools print their own output). */
export async function runOurVerbJson<T>(ctx: CliContext, name: OurVerb, argv: string[]): Promise<T> {
  let text = "";
  await runOurVerb(ctx, name, [...argv, "--json"], (t) => {
    text += t;
  });
  return JSON.parse(text) as T;
}
