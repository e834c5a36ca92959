import * as pulumi from "@pulumi/pulumi";
import { ApkRepository } from "./apk-repository";
import {
  type BuiltPackage,
  type KeyInput,
  knownItems,
  type ListInput,
  mapList,
  type PackageProvenance,
  resourcesIn,
} from "./common";
import type { ConfigSource, MelangeRecipeObject } from "./config-types";
import { providerFor, RESOURCE_MODULE } from "./provider-handle";

const provider = providerFor("pulumi-distroless/provider/dynamic/package");

/**
 * Inputs of an {@link ApkPackage}: exactly one of `configFile` (a melange.yaml) or `config` (the same
 * schema as an object, typed), and these settings.
 */
export type ApkPackageArgs = ApkPackageSettings & ConfigSource<MelangeRecipeObject>;

/** The settings of an {@link ApkPackage} besides its recipe. */
export interface ApkPackageSettings {
  /** Directory copied into the build workspace. Default: the recipe file's directory. */
  sourceDir?: pulumi.Input<string>;
  /** apk architectures to build (`x86_64`, `aarch64`; OCI names accepted). Default: the host's. */
  archs?: ListInput<string>;
  /** PEM private key (RSA) that signs the apks. Pass it as a secret. */
  signingKey: pulumi.Input<string>;
  /** Passphrase of an encrypted `signingKey`. Pass it as a secret. */
  signingKeyPassphrase?: pulumi.Input<string>;
  /** apk key name (`<name>.rsa.pub`): the key file's name plus `.pub`, as melange names it. Default `melange.rsa.pub`. */
  keyName?: pulumi.Input<string>;
  /** SOURCE_DATE_EPOCH: every mtime and the build date. Default 0. */
  sourceDateEpoch?: pulumi.Input<number>;
  /** Where build steps run. `auto` = bubblewrap on Linux where it works, else host. */
  runner?: pulumi.Input<"auto" | "bubblewrap" | "host" | "melange">;
  /**
   * Repositories for the build environment (`environment.contents.repositories` is also read):
   * URLs or paths, or ApkRepository resources, which bring their keys as DistrolessImage's do.
   */
  repositories?: ListInput<ApkRepository | string>;
  /** Trusted keys for those repositories. */
  keyring?: ListInput<KeyInput>;
  /** Values for the recipe's `vars`. */
  vars?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Recipe `options` to enable. */
  buildOptions?: ListInput<string>;
  /** Output directory for the apks. Default: `.distroless/packages/<resource name>`. */
  outDir?: pulumi.Input<string>;
  /** Cache directory (indexes, packages, build environments). Default: the user cache. */
  cacheDir?: pulumi.Input<string>;
  /**
   * Do not run the recipe's `test:` sections. By default they run after the build and a failing
   * test fails the resource (create/update) with the step's output; no apk is written then.
   */
  skipTests?: pulumi.Input<boolean>;
}

/**
 * Builds apk packages from a melange recipe. Preview computes `inputDigest` from the recipe, the
 * source tree and the resolved build environment; `up` rebuilds only when it changed (or the built
 * files went missing). Builds are reproducible: same inputs, same bytes.
 */
export class ApkPackage extends pulumi.dynamic.Resource {
  /** The main package's name. */
  declare public readonly name: pulumi.Output<string>;
  /** `<version>-r<epoch>`. */
  declare public readonly version: pulumi.Output<string>;
  /** `name=version`, ready for an image's `packages`. */
  declare public readonly ref: pulumi.Output<string>;
  /** Every .apk built, per arch and (sub)package. */
  declare public readonly packages: pulumi.Output<BuiltPackage[]>;
  /**
   * SLSA provenance of every apk built (in-toto statement: recipe, source tree and build
   * environment digests). A DistrolessImage given this package in `packages` (or this output in
   * `provenance`) attests it on the image when it signs.
   */
  declare public readonly provenance: pulumi.Output<PackageProvenance[]>;
  /** The architectures built. */
  declare public readonly archs: pulumi.Output<string[]>;
  /** Digest of everything the build depends on. */
  declare public readonly inputDigest: pulumi.Output<string>;
  /** apk key name the packages are signed with. */
  declare public readonly keyName: pulumi.Output<string>;
  /** The directory the apks were written to. */
  declare public readonly outDir: pulumi.Output<string>;
  /** The resource's name, which the provider puts in its messages. */
  declare public readonly resourceName: pulumi.Output<string>;

  constructor(name: string, args: ApkPackageArgs, opts?: pulumi.CustomResourceOptions) {
    const repositories = mapList(args.repositories, (r) =>
      r instanceof ApkRepository ? r.reference.url : r,
    );
    // A repository resource's keys join the keyring, so its index and apks verify in the build.
    const listed = knownItems(args.repositories);
    const keyring =
      listed && !listed.some((r) => r instanceof ApkRepository)
        ? args.keyring
        : pulumi
            .all([
              pulumi.output(args.keyring ?? []),
              resourcesIn(args.repositories, ApkRepository).apply((rs) =>
                pulumi.all(rs.map((r) => r.reference)),
              ),
            ])
            .apply(([ring, refs]) => [...ring, ...refs.flatMap((ref) => ref.keys)]);
    super(
      provider,
      name,
      {
        ...args,
        repositories,
        keyring,
        resourceName: name,
        name: undefined,
        version: undefined,
        ref: undefined,
        packages: undefined,
        provenance: undefined,
        archs: args.archs,
        inputDigest: undefined,
        keyName: args.keyName,
        outDir: args.outDir,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["signingKey", "signingKeyPassphrase"] }),
      RESOURCE_MODULE,
      "ApkPackage",
    );
  }
}
