// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * A real build through maven/configure-mirror and maven/pombump (Debian's maven and JDK, which
 * scripts/setup.sh installs with the plugins a jar build needs in .cache/maven-repo; pombump, which
 * scripts/tools.sh builds): a pom's property and dependency versions are bumped through every
 * input, the jar is built offline from the build cache the mirror step links, and then run.
 *
 * The pipelines write root's home as melange's do (/root/.m2: Maven reads the home of the user it
 * runs as, not $HOME); the build runs with a private /root so this machine's is left alone.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { toolSkip, toolsEnv } from "../helpers/tools";
import { build, has, needsHostTools, runOk, textOf, unpacked } from "./pipelines-build-helpers";

/** The Maven plugins scripts/setup.sh fetched once, recorded as from configure-mirror's mirror. */
const MAVEN_REPO = path.join(projectRoot, ".cache", "maven-repo");

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>hello</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.source>11</maven.compiler.source>
    <maven.compiler.target>11</maven.compiler.target>
    <greeting.version>1.0</greeting.version>
  </properties>
  <build>
    <resources>
      <resource>
        <directory>src/main/resources</directory>
        <filtering>true</filtering>
      </resource>
    </resources>
  </build>
</project>
`;

const PROJECT = {
  "app/pom.xml": POM,
  // Every mvn in the project runs offline (the pipeline's own dependency:tree too).
  "app/.mvn/maven.config": "-o\n",
  "app/src/main/resources/greeting.properties": "version=${greeting.version}\n",
  "app/src/main/java/hello/Main.java": `package hello;

public class Main {
  public static void main(String[] args) throws Exception {
    java.util.Properties p = new java.util.Properties();
    p.load(Main.class.getResourceAsStream("/greeting.properties"));
    System.out.println("hello from maven " + p.getProperty("version"));
  }
}
`,
  // pombump's default properties file (in the step's working directory).
  "pombump-properties.yaml": 'properties:\n  - property: greeting.version\n    value: "2.0"\n',
  "bumps/deps.yaml":
    "patches:\n  - groupId: org.example\n    artifactId: managed-two\n    version: 2.2.0\n    scope: compile\n    type: jar\n",
};

// Step one: pom, dependencies and debug set, the default properties file present (the default
// patch file absent). Step two, in the project dir: the default pom, patch-file, properties and
// show-dependency-tree set, properties-file naming a file that is not there.
const RECIPE = `package: {name: hello-maven, version: 1.0.0, epoch: 0}
pipeline:
  - uses: maven/configure-mirror
  - uses: maven/pombump
    with:
      pom: app/pom.xml
      dependencies: org.example@managed-one@1.1.0@compile@jar
      debug: "true"
  - uses: maven/pombump
    working-directory: app
    with:
      patch-file: ../bumps/deps.yaml
      properties-file: absent.yaml
      properties: maven.compiler.source@17 maven.compiler.target@17
      show-dependency-tree: "true"
  - runs: |
      d=\${{targets.destdir}}/usr/share/hello
      mkdir -p \${{targets.destdir}}/usr/share/java $d
      cd app
      mvn -B -q package
      cp target/hello-1.0.jar \${{targets.destdir}}/usr/share/java/hello.jar
      cp pom.xml $d/pom.xml
      cp /root/.m2/settings.xml $d/maven-settings.xml
`;

describe("real build through the maven pipelines", () => {
  test("maven/configure-mirror, maven/pombump: a pom bumped through every input, built offline from the linked cache, run", {
    ...needsHostTools(
      has("mvn", "-v") && has("javac", "-version") && has("bwrap", "--version"),
      "mvn, javac (maven, default-jdk-headless) and bwrap are needed",
    ),
    ...needsHostTools(
      existsSync(path.join(MAVEN_REPO, ".complete")),
      `the Maven plugins are not in ${MAVEN_REPO}`,
    ),
    ...toolSkip("pombump"),
  }, async () => {
    // The build cache (/var/cache/melange, the cache dir's melange-cache on the host runner) holds
    // the plugins; configure-mirror links Maven's local repository to it, and an offline build
    // that finds them proves the link.
    const cacheDir = tempDir();
    cpSync(MAVEN_REPO, path.join(cacheDir, "melange-cache", "m2repository"), { recursive: true });
    const built = await build(RECIPE, PROJECT, { cacheDir, env: toolsEnv(), privateRoot: true });

    const pom = textOf(built, "hello-maven", "usr/share/hello/pom.xml");
    assert.match(pom, /<greeting\.version>2\.0<\/greeting\.version>/, "the default properties file");
    // Both of a space-separated list (pombump v0.0.16 logs but does not write a property the pom
    // lacks, so these are existing ones).
    assert.match(pom, /<maven\.compiler\.source>17<\/maven\.compiler\.source>/, "properties");
    assert.match(pom, /<maven\.compiler\.target>17<\/maven\.compiler\.target>/, "properties");
    assert.match(pom, /<artifactId>managed-one<\/artifactId>\s*<version>1\.1\.0<\/version>/, "dependencies");
    assert.match(pom, /<artifactId>managed-two<\/artifactId>\s*<version>2\.2\.0<\/version>/, "patch-file");
    assert.match(built.log, /example:hello:jar:1\.0/, "show-dependency-tree ran mvn dependency:tree");
    assert.match(built.log, /<version>1\.1\.0<\/version>/, "debug printed the pom's diff");

    const settings = textOf(built, "hello-maven", "usr/share/hello/maven-settings.xml");
    assert.match(
      settings,
      /<url>https:\/\/maven-central\.storage-download\.googleapis\.com\/maven2\/<\/url>/,
    );
    assert.match(settings, /<mirrorOf>central<\/mirrorOf>/);

    // The bumped property reached the jar, which runs.
    const root = await unpacked(built, "hello-maven");
    assert.equal(
      runOk("java", ["-cp", path.join(root, "usr/share/java/hello.jar"), "hello.Main"]),
      "hello from maven 2.0\n",
    );
  });
});
