/**
 * `vars` and `var-transforms`: the recipe's own variables, resolved once per compilation.
 * A var value may use the built-in substitutions and other vars (resolved in any order, cycles are
 * errors). Each transform then takes its `from` (substituted), applies the Go regexp `match` with
 * the Go template `replace` to every match, and stores the result as `vars.<to>`; later transforms
 * see earlier ones.
 */
import { compileGoRegexp, GoRegexpError, goReplaceAll } from "./go-regexp";
import { type Lookup, SubstitutionError, substitute } from "./substitute";

export interface VarTransform {
  from: string;
  match: string;
  replace: string;
  to: string;
}

export class VarsError extends Error {
  constructor(
    message: string,
    /** The YAML path of the offending entry, e.g. `vars.foo` or `var-transforms[1].match`. */
    readonly path: string,
  ) {
    super(message);
  }
}

/**
 * Returns `vars.<name>` -> value for the recipe's vars and transforms. `base` resolves the built-in
 * substitutions (package.*, build.*, targets.*...).
 */
export function resolveVars(
  vars: Record<string, string>,
  transforms: readonly VarTransform[],
  base: Lookup,
): Map<string, string> {
  const resolved = new Map<string, string>();
  const resolving = new Set<string>();
  const resolveVar = (name: string): string | undefined => {
    const done = resolved.get(`vars.${name}`);
    if (done !== undefined) return done;
    if (!Object.hasOwn(vars, name)) return undefined;
    if (resolving.has(name))
      throw new VarsError(
        `vars refer to each other in a cycle (${[...resolving, name].join(" -> ")})`,
        `vars.${name}`,
      );
    resolving.add(name);
    try {
      const value = substitute(vars[name]!, lookup);
      resolved.set(`vars.${name}`, value);
      return value;
    } catch (err) {
      if (err instanceof SubstitutionError) throw new VarsError(err.message, `vars.${name}`);
      throw err;
    } finally {
      resolving.delete(name);
    }
  };
  const lookup: Lookup = (name) => {
    if (name.startsWith("vars.")) {
      const own = resolved.get(name) ?? resolveVar(name.slice("vars.".length));
      if (own !== undefined) return own;
    }
    return base(name);
  };
  for (const name of Object.keys(vars)) resolveVar(name);
  transforms.forEach((t, i) => {
    let from: string;
    try {
      from = substitute(t.from, lookup);
    } catch (err) {
      throw new VarsError((err as Error).message, `var-transforms[${i}].from`);
    }
    let re: RegExp;
    try {
      re = compileGoRegexp(t.match);
    } catch (err) {
      if (err instanceof GoRegexpError)
        throw new VarsError(`invalid regexp: ${err.message}`, `var-transforms[${i}].match`);
      throw err;
    }
    resolved.set(`vars.${t.to}`, goReplaceAll(from, re, t.replace));
  });
  return resolved;
}
