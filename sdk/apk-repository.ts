import * as pulumi from "@pulumi/pulumi";
import { ApkPackage } from "./apk-package";
import { type BuiltPackage, type KeyInput, type ListInput, mapList } from "./common";
import { providerFor, RESOURCE_MODULE } from "./provider-handle";

const provider = providerFor("pulumi-distroless/provider/dynamic/repository");

/** Inputs of an {@link ApkRepository}: a local repository it publishes, or an existing remote one. */
export interface ApkRepositoryArgs {
  /** Directory of a repository this resource owns (`<path>/<arch>/APKINDEX.tar.gz`). */
  path?: pulumi.Input<string>;
  /** PEM private key that signs the index. Required with `path`. Pass it as a secret. */
  signingKey?: pulumi.Input<string>;
  /** Passphrase of an encrypted `signingKey`. Pass it as a secret. */
  signingKeyPassphrase?: pulumi.Input<string>;
  /** apk key name (`<name>.rsa.pub`): the key file's name plus `.pub`, as melange names it. Default `melange.rsa.pub`. */
  keyName?: pulumi.Input<string>;
  /** Packages to publish: ApkPackage resources, their `packages` outputs, or .apk file paths. */
  packages?: ListInput<ApkPackage | string | BuiltPackage | BuiltPackage[]>;
  /** The index's DESCRIPTION. */
  description?: pulumi.Input<string>;
  /** Remove packages from the directory that are no longer listed. Default true. */
  prune?: pulumi.Input<boolean>;
  /** URL (or local path) of an existing repository, read only. */
  url?: pulumi.Input<string>;
  /** Trusted keys of that existing repository. */
  keys?: ListInput<KeyInput>;
  /** Architectures whose index must exist (remote repositories). Default: whatever is found. */
  archs?: ListInput<string>;
}

/** What an image (or a build environment) needs to use a repository. */
export interface RepositoryReference {
  url: string;
  keys: { name: string; pem: string }[];
  /** Changes whenever an index changes, so consumers re-resolve. */
  digest: string;
}

/**
 * A signed apk repository. With `path` it publishes `packages` into the directory and signs the
 * index (atomically: readers never see an index naming a missing apk); with `url` it describes an
 * existing repository without creating anything. Refresh reports an index changed outside Pulumi.
 */
export class ApkRepository extends pulumi.dynamic.Resource {
  /** Where the repository is (`file:///...` for local ones, else the URL). */
  declare public readonly url: pulumi.Output<string>;
  /** apk key name of the signing key (`<name>.rsa.pub`). */
  declare public readonly keyName: pulumi.Output<string>;
  /** The signing key's public half (PEM SPKI). */
  declare public readonly publicKey: pulumi.Output<string>;
  /** Per arch: the index digest and the `name-version` of each package. */
  declare public readonly indexes: pulumi.Output<Record<string, { digest: string; packages: string[] }>>;
  /** Everything an image needs to use this repository. */
  declare public readonly reference: pulumi.Output<RepositoryReference>;
  /** Digest of the published content. */
  declare public readonly inputDigest: pulumi.Output<string>;
  /** The repository's directory (absolute), for a published one. */
  declare public readonly path: pulumi.Output<string | undefined>;
  /** The architectures it has an index for. */
  declare public readonly archs: pulumi.Output<string[]>;
  /** Whether this resource made the directory: only then does destroy remove what it published. */
  declare public readonly created: pulumi.Output<boolean>;
  /** The resource's name, which the provider puts in its messages. */
  declare public readonly resourceName: pulumi.Output<string>;

  constructor(name: string, args: ApkRepositoryArgs, opts?: pulumi.CustomResourceOptions) {
    const packages = mapList(args.packages, (p) => (p instanceof ApkPackage ? p.packages : p));
    super(
      provider,
      name,
      {
        ...args,
        packages,
        resourceName: name,
        url: args.url,
        keyName: args.keyName,
        publicKey: undefined,
        indexes: undefined,
        reference: undefined,
        inputDigest: undefined,
        path: args.path,
        archs: args.archs,
        created: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["signingKey", "signingKeyPassphrase"] }),
      RESOURCE_MODULE,
      "ApkRepository",
    );
  }
}
