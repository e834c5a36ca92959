/**
 * `.melangeignore`: gitignore-style patterns that keep files of the source directory out of the build
 * workspace (and out of the input digest). Supported: `#` comments, `!` negation (last match wins),
 * a trailing `/` (directories only), a leading or inner `/` (anchored at the source root), `*`, `?`,
 * `[...]` and `**`. As in git, a file inside an ignored directory cannot be re-included.
 */

interface Rule {
  negate: boolean;
  dirOnly: boolean;
  regex: RegExp;
}

export const IGNORE_FILE = ".melangeignore";

/**
 * Left out of every source tree before `.melangeignore` is read (its `!` lines can take any back).
 * The default source directory is the recipe's, which in a Pulumi project is often the project
 * itself: dependencies, VCS data, Pulumi's own state and stack config (which changes with every
 * `config set`), and what the resources write (packages, repositories, the build cache) would
 * otherwise feed the input digest and rebuild the package after every change to them.
 */
export const DEFAULT_IGNORES = [
  "node_modules/",
  ".git/",
  ".hg/",
  ".svn/",
  ".pulumi/",
  ".distroless/",
  "/Pulumi.*.yaml",
  "*.apk",
  "APKINDEX.tar.gz",
  ".publish.lock",
  ".publish.lock.*",
].join("\n");

function globToRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const slashAfter = glob[i + 2] === "/";
        const atStart = i === 0 || glob[i - 1] === "/";
        i += slashAfter ? 2 : 1;
        if (atStart && slashAfter)
          out += "(?:.*/)?"; // `**/` matches zero or more directories
        else out += ".*";
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) out += "\\[";
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < glob.length) {
      out += glob[i + 1]!.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      i++;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return out;
}

export class IgnoreRules {
  private readonly rules: Rule[];

  constructor(text: string) {
    this.rules = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.replace(/(?<!\\)\s+$/, "");
      if (!line || line.startsWith("#")) continue;
      let negate = false;
      if (line.startsWith("!")) {
        negate = true;
        line = line.slice(1);
      } else if (line.startsWith("\\!") || line.startsWith("\\#")) line = line.slice(1);
      let dirOnly = false;
      if (line.endsWith("/")) {
        dirOnly = true;
        line = line.replace(/\/+$/, "");
      }
      if (!line) continue;
      const anchored = line.includes("/");
      line = line.replace(/^\/+/, "");
      const body = globToRegex(line);
      const regex = new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`);
      this.rules.push({ negate, dirOnly, regex });
    }
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Whether the last rule matching `relPath` is a `!` rule: the file is taken back explicitly. */
  reincludes(relPath: string, isDirectory: boolean): boolean {
    let last: Rule | undefined;
    for (const r of this.rules) {
      if (r.dirOnly && !isDirectory) continue;
      if (r.regex.test(relPath)) last = r;
    }
    return last?.negate === true;
  }

  /** Whether `relPath` (slash separated, relative to the source root) is ignored. */
  ignores(relPath: string, isDirectory: boolean): boolean {
    let ignored = false;
    for (const r of this.rules) {
      if (r.dirOnly && !isDirectory) continue;
      if (r.regex.test(relPath)) ignored = !r.negate;
    }
    return ignored;
  }
}
