/**
 * Splits a command line into words the way a POSIX shell would before expansion (apko splits
 * `entrypoint.command` and `cmd` like this): blanks separate words; single quotes keep everything
 * literally; inside double quotes a backslash escapes only `$`, `` ` ``, `"`, `\` and newline;
 * outside quotes a backslash escapes any character and backslash-newline joins lines. No variable,
 * glob or command expansion happens, and `#` is an ordinary character.
 */
export class ShellWordsError extends Error {}

const BLANK = new Set([" ", "\t", "\n", "\r"]);
const DQ_ESCAPABLE = new Set(["$", "`", '"', "\\", "\n"]);

export function splitShellWords(input: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (BLANK.has(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
      continue;
    }
    if (c === "\\" && input[i + 1] === "\n") {
      // A line continuation: removed, and it neither starts nor ends a word.
      i += 2;
      continue;
    }
    inWord = true;
    if (c === "\\") {
      if (i + 1 >= input.length) throw new ShellWordsError("unfinished escape at end of input");
      word += input[i + 1];
      i += 2;
      continue;
    }
    if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw new ShellWordsError("unterminated single quote");
      word += input.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= input.length) throw new ShellWordsError("unterminated double quote");
        const d = input[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < input.length && DQ_ESCAPABLE.has(input[i + 1]!)) {
          if (input[i + 1] !== "\n") word += input[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      continue;
    }
    word += c;
    i++;
  }
  if (inWord) words.push(word);
  return words;
}
