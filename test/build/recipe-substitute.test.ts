// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  compileGoRegexp,
  evaluateCondition,
  goReplaceAll,
  licenseExpression,
  replaceKnown,
  substitute,
} from "../../provider/build/recipe";

const values = new Map([
  ["package.name", "hello"],
  ["foo.bar", "baz"],
  ["foo.BAR_BAZ", "bar-baz"],
  ["vars.empty", ""],
]);
const lookup = (n: string) => values.get(n);

describe("substitutions", () => {
  test("${{name}} with blanks inside the braces, several per text, across lines", () => {
    assert.equal(
      substitute("Hello ${{foo.bar}} ${{ foo.bar }} ${{\tfoo.BAR_BAZ }}!", lookup),
      "Hello baz baz bar-baz!",
    );
    assert.equal(substitute("a\n  ${{ foo.bar }}\n    ${{foo.bar}}\n!", lookup), "a\n  baz\n    baz\n!");
    assert.equal(substitute("x${{vars.empty}}y", lookup), "xy");
    assert.equal(
      substitute("no references, $HOME and ${x} stay", lookup),
      "no references, $HOME and ${x} stay",
    );
  });

  test("unknown names are errors listing each once; malformed references too", () => {
    assert.throws(
      () => substitute("${{nope}} ${{nope}} ${{also.no}}", lookup),
      /^Error: unknown substitutions \$\{\{nope\}\}, \$\{\{also\.no\}\}$/,
    );
    assert.throws(() => substitute("echo ${{foo.bar}", lookup), /malformed substitution "\$\{\{foo\.bar\}"/);
    assert.throws(() => substitute("${{ }}", lookup), /malformed substitution/);
  });

  test("melange's first pass replaces only exact known tokens", () => {
    assert.equal(
      replaceKnown("${{package.name}}-${{ package.name }}-${{other}}", values),
      "hello-${{ package.name }}-${{other}}",
    );
  });
});

describe("if expressions", () => {
  test("comparisons of quoted strings and variables", () => {
    assert.equal(evaluateCondition("'foo' == 'foo'", lookup), true);
    assert.equal(evaluateCondition(`"foo" != 'foo'`, lookup), false);
    assert.equal(evaluateCondition("${{foo.bar}} == 'baz'", lookup), true);
    assert.equal(evaluateCondition("'baz' == ${{ foo.bar }}", lookup), true);
    assert.equal(evaluateCondition("${{\nfoo.bar\t}} == 'baz'", lookup), true);
    assert.equal(evaluateCondition(`"hello \\"world\\"" == 'hello "world"'`, lookup), true);
    assert.equal(evaluateCondition(`'it\\'s' == "it's"`, lookup), true);
  });

  test("&& and || chain left to right; parentheses group", () => {
    assert.equal(evaluateCondition("'r' == 'r' && 'h' == 'h' && 'r' != 'h'", lookup), true);
    assert.equal(evaluateCondition("'r' == 'h' || 'l' == 'l'", lookup), true);
    assert.equal(evaluateCondition("('r' == 'r' && 'h' != 'h') || 'l' == 'l'", lookup), true);
    // No precedence: (true || false) && false, not true || (false && false).
    assert.equal(evaluateCondition("'a' == 'a' || 'a' == 'b' && 'a' == 'b'", lookup), false);
    assert.equal(evaluateCondition("'a' == 'a' || ('a' == 'b' && 'a' == 'b')", lookup), true);
  });

  test("undefined variables and broken syntax are errors", () => {
    assert.throws(() => evaluateCondition("${{nope}} == 'x'", lookup), /undefined variable \$\{\{nope\}\}/);
    assert.throws(() => evaluateCondition("'a' == 'a' || ${{nope}} == 'x'", lookup), /undefined variable/);
    assert.throws(() => evaluateCondition("${{foo.bar} == 'baz'", lookup), /unterminated reference/);
    assert.throws(() => evaluateCondition("'foo' == ", lookup), /unexpected end/);
    assert.throws(() => evaluateCondition("foo == 'foo'", lookup), /unexpected "f"/);
    assert.throws(() => evaluateCondition("'a' = 'a'", lookup), /expected == or !=/);
    assert.throws(() => evaluateCondition("('a' == 'a'", lookup), /expected \)/);
    assert.throws(() => evaluateCondition("'a' == 'a' 'b'", lookup), /trailing input/);
  });
});

describe("Go regexps and templates (var-transforms)", () => {
  const replace = (input: string, pattern: string, template: string) =>
    goReplaceAll(input, compileGoRegexp(pattern), template);

  test("melange's examples", () => {
    assert.equal(replace("1.2.3.4", "\\.(\\d+)$", "+$1"), "1.2.3+4");
    assert.equal(replace("2.12.4", "^(\\d+\\.\\d+)\\.\\d+$", "$1"), "2.12");
    assert.equal(replace("0.4_27", "_", "-"), "0.4-27");
  });

  test("templates expand by Go's rules, not JS's", () => {
    // Go reads $1x as the (missing) group named "1x": empty. ${1}x is group 1 then x.
    assert.equal(replace("ab", "(a)(b)", "$1x"), "");
    assert.equal(replace("ab", "(a)(b)", "${1}x"), "ax");
    assert.equal(replace("ab", "(?P<first>a)(b)", "$first-${2}"), "a-b");
    assert.equal(replace("ab", "(a)(b)", "$$1"), "$1");
    assert.equal(replace("ab", "(a)(b)", "$ $"), "$ $");
    assert.equal(replace("ab", "(a)(b)", "$9"), "");
  });

  test("global replacement skips an empty match right after a match, like Go", () => {
    assert.equal(replace("baaac", "a*", "-"), "-b-c-");
    assert.equal(replace("abc", "x*", "-"), "-a-b-c-");
  });

  test("RE2 syntax is translated: flags, \\A \\z, \\Q..\\E, POSIX classes, ASCII \\s", () => {
    assert.equal(replace("Foo foo", "(?i)foo", "x"), "x x");
    assert.equal(replace("a.b.c", "\\Q.b\\E", "!"), "a!.c");
    assert.equal(replace("ab12", "[[:digit:]]+", "#"), "ab#");
    assert.equal(replace("ab\nab", "\\Aab", "X"), "X\nab");
    assert.equal(replace("ab\nab", "ab\\z", "X"), "ab\nX");
    assert.equal(replace("a\u00a0b c", "\\s", "_"), "a\u00a0b_c", "\\s is ASCII whitespace in Go");
    assert.equal(replace("x]y", "[]]", "!"), "x!y", "a leading ] in a class is a literal in RE2");
  });

  test("constructs RE2 refuses are refused", () => {
    assert.throws(() => compileGoRegexp("(?=a)"), /lookahead/);
    assert.throws(() => compileGoRegexp("(a)\\1"), /backreferences/);
    assert.throws(() => compileGoRegexp("[[:nope:]]"), /unknown character class/);
    assert.throws(() => compileGoRegexp("(?U)a+"), /ungreedy/);
  });
});

describe("license expressions (melange's rules)", () => {
  test("simple entries join with AND, groups keep their operator", () => {
    assert.equal(licenseExpression([]), "");
    assert.equal(licenseExpression([{ license: "MIT" }]), "MIT");
    assert.equal(
      licenseExpression([{ license: "MIT" }, { license: "Apache-2.0" }, { license: "MIT" }]),
      "MIT AND Apache-2.0",
    );
    assert.equal(
      licenseExpression([
        { operator: "OR", licenses: [{ license: "MIT" }, { license: "Apache-2.0" }] },
        { license: "BSD-3-Clause" },
      ]),
      "(MIT OR Apache-2.0) AND BSD-3-Clause",
    );
    assert.equal(
      licenseExpression([
        { operator: "OR", licenses: [{ license: "A" }, { license: "B" }] },
        { operator: "OR", licenses: [{ license: "C" }, { license: "D" }] },
      ]),
      "(A OR B) OR (C OR D)",
    );
  });
});
