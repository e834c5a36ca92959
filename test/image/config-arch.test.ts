import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ALL_ARCHS,
  fromOciPlatform,
  gnuTriplet,
  goArch,
  parseArch,
  requireArch,
  rustTriplet,
  sortArchs,
  toOciName,
  toOciPlatform,
} from "../../provider/image/config/arch";
import { isDistrolessError } from "../../provider/util/errors";

describe("arch names", () => {
  const pairs: Array<[string, string, { architecture: string; variant?: string }]> = [
    ["x86_64", "amd64", { architecture: "amd64" }],
    ["aarch64", "arm64", { architecture: "arm64" }],
    ["armv7", "arm/v7", { architecture: "arm", variant: "v7" }],
    ["armhf", "arm/v6", { architecture: "arm", variant: "v6" }],
    ["x86", "386", { architecture: "386" }],
    ["ppc64le", "ppc64le", { architecture: "ppc64le" }],
    ["s390x", "s390x", { architecture: "s390x" }],
    ["riscv64", "riscv64", { architecture: "riscv64" }],
    ["loongarch64", "loong64", { architecture: "loong64" }],
  ];

  test("apk and OCI names map both ways", () => {
    for (const [apk, oci, platform] of pairs) {
      assert.equal(parseArch(apk), apk);
      assert.equal(parseArch(oci), apk, oci);
      assert.equal(toOciName(requireArch(apk)), oci);
      assert.deepEqual(toOciPlatform(requireArch(apk)), platform);
      assert.equal(fromOciPlatform(platform), apk);
    }
    assert.equal(ALL_ARCHS.length, pairs.length);
  });

  test("`all` is every arch in apko's order (by OCI name)", () => {
    assert.deepEqual(
      ALL_ARCHS.map((a) => toOciName(a)),
      ["386", "amd64", "arm/v6", "arm/v7", "arm64", "loong64", "ppc64le", "riscv64", "s390x"],
    );
    assert.deepEqual(sortArchs(["aarch64", "x86_64", "aarch64", "armv7"]), ["x86_64", "armv7", "aarch64"]);
  });

  test("unknown names are refused with the list of valid ones", () => {
    assert.equal(parseArch("sparc"), undefined);
    try {
      requireArch("sparc", "apko.yaml");
      assert.fail("expected an error");
    } catch (err) {
      assert.ok(isDistrolessError(err, "E_CONFIG"));
      assert.match(
        (err as Error).message,
        /^apko\.yaml: unknown architecture "sparc"; expected one of x86, 386, x86_64, amd64/,
      );
    }
  });

  test("triplets and GOARCH, as melange substitutes them", () => {
    assert.equal(gnuTriplet("x86_64"), "x86_64-pc-linux-gnu");
    assert.equal(gnuTriplet("aarch64", "musl"), "aarch64-unknown-linux-musl");
    assert.equal(gnuTriplet("armv7"), "armv7l-unknown-linux-gnueabihf");
    assert.equal(gnuTriplet("x86"), "i486-pc-linux-gnu");
    assert.equal(rustTriplet("x86"), "i686-unknown-linux-gnu");
    assert.equal(rustTriplet("armhf"), "armv6-unknown-linux-gnueabihf");
    assert.equal(goArch("armv7"), "arm");
    assert.equal(goArch("x86_64"), "amd64");
  });
});
