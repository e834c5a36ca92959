import * as pulumi from "@pulumi/pulumi";
import { ApkPackage } from "./apk-package";
import { ApkRepository } from "./apk-repository";
import {
  type KeyInput,
  knownItems,
  type ListInput,
  mapList,
  type PackageProvenance,
  type RegistryAuth,
  resourcesIn,
} from "./common";
import type { ApkoConfigObject, ConfigSource } from "./config-types";
import { providerFor, RESOURCE_MODULE } from "./provider-handle";

const provider = providerFor("pulumi-distroless/provider/dynamic/image");

/**
 * Inputs of a {@link DistrolessImage}: exactly one of `configFile` (an apko.yaml) or `config` (the
 * same schema as an object, typed), and these settings.
 */
export type DistrolessImageArgs = DistrolessImageSettings & ConfigSource<ApkoConfigObject>;

/** The settings of a {@link DistrolessImage} besides its config. */
export interface DistrolessImageSettings {
  /** Repositories added to the config's: ApkRepository resources, URLs or local paths (`@tag url` pins). */
  repositories?: ListInput<ApkRepository | string>;
  /** Trusted keys added to the config's keyring: file paths, URLs or `{ name, pem }`. */
  keyring?: ListInput<KeyInput>;
  /** Packages added to the config's: ApkPackage resources (pinned to the version built) or constraints. */
  packages?: ListInput<ApkPackage | string>;
  /** Architectures (apk or OCI names). Overrides the config's `archs`. */
  archs?: ListInput<string>;
  /** Annotations added to the index and manifests. */
  annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * apko's `--vcs`: when the config has no `vcs-url`, record the git checkout holding the config
   * file (or the program's directory) as `org.opencontainers.image.source` (origin URL, no
   * credentials) and `.revision` (the HEAD commit). Default false, unlike the apko CLI: the commit
   * is part of the image, so with it on every commit of the program's repository makes a new image.
   */
  vcs?: pulumi.Input<boolean>;
  /**
   * Build on a base image (apko's `contents.baseimage`, replacing the config's): `image` is a local
   * OCI layout directory, `apkindex` the directory holding `<apk arch>/APKINDEX`, the packages
   * installed in it. The base's layers are kept as they are; its manifest and installed list are
   * part of the input digest, so a changed base rebuilds the image.
   */
  baseImage?: pulumi.Input<{ image: pulumi.Input<string>; apkindex: pulumi.Input<string> }>;
  /** SOURCE_DATE_EPOCH. Default: the newest package build time. */
  sourceDateEpoch?: pulumi.Input<number>;
  /** Target repository, e.g. `registry.example.com/team/app`. Without it, `outputPath` is required. */
  repository?: pulumi.Input<string>;
  /** Tags to point at the image (pushed last). */
  tags?: ListInput<string>;
  /** Registry credentials. Default: ~/.docker/config.json (auths, credHelpers, credsStore). */
  registryAuth?: pulumi.Input<RegistryAuth>;
  /** Allow plain HTTP / unverified TLS to a non-loopback registry. */
  insecureRegistry?: pulumi.Input<boolean>;
  /** PEM bundle of extra CAs for the registry. */
  caFile?: pulumi.Input<string>;
  /**
   * Sign the pushed image (the index and every platform manifest) and attest its SBOMs, where
   * cosign looks for them: a `cosign.key` (cosign's encrypted format) or a PEM ECDSA P-256, RSA or
   * Ed25519 private key. Keyed and offline (no Fulcio, no Rekor): verify with
   * `cosign verify --key cosign.pub --insecure-ignore-tlog`.
   */
  signKey?: pulumi.Input<string>;
  /** The password of `signKey` (cosign's COSIGN_PASSWORD), if it is encrypted. */
  signKeyPassword?: pulumi.Input<string>;
  /**
   * Security databases (Alpine/Wolfi secdb JSON: a file or URL, or several). Preview then names
   * the CVEs each package version change fixes (`resolved.fixes.<arch>.<name>`), and warns about
   * packages below a known fix. Advice only: nothing installed depends on it.
   */
  securityDb?: pulumi.Input<string | pulumi.Input<string>[]>;
  /** Attach the SPDX SBOMs to the image as referrers. Default true. */
  sbom?: pulumi.Input<boolean>;
  /**
   * Build provenance to attest (with `signKey`) as in-toto SLSA provenance attestations
   * (`cosign verify-attestation --type slsaprovenance1`): ApkPackage `provenance` outputs. The
   * provenance of ApkPackages given in `packages` is included without naming it here. Only the
   * provenance of packages the image actually installs (same arch, name and checksum) is attested.
   */
  provenance?: ListInput<pulumi.Input<pulumi.Input<PackageProvenance>[]>>;
  /** Also (or instead) write the image as an OCI layout directory, or a docker tarball (`.tar`). */
  outputPath?: pulumi.Input<string>;
  /** An apko.lock.json to pin packages to; newer upstream versions become warnings, not changes. */
  lockFile?: pulumi.Input<string>;
  /** On destroy, remove the tags this resource created. Default false: images stay (they may be running). */
  deleteTagsOnDestroy?: pulumi.Input<boolean>;
  /** Cache directory for indexes and packages. Default: the user cache. */
  cacheDir?: pulumi.Input<string>;
  /** Use only the cache; fail naming what is missing. */
  offline?: pulumi.Input<boolean>;
  /**
   * Preview computes the exact image (`digest`, `imageRef`, `ref`, `platforms`, `layerDigests`,
   * `layers` are concrete in preview, so a Deployment's diff shows the new image) by assembling it
   * into the cache; nothing is pushed or written elsewhere, and `up` pushes exactly that digest (it
   * fails, pushing nothing, if the build came out different). `"auto"` (the default): on when every
   * package the image installs is already on this machine (fetched into the cache, or in a local
   * repository) and they install at most 32 MiB (summed over archs); off otherwise. `true`: always (fetching packages
   * into the cache at preview if needed). `false`: never; the digest is unknown until `up`.
   */
  exactPreview?: pulumi.Input<boolean | "auto">;
}

/** One package of the lock. */
export interface LockedPackage {
  name: string;
  version: string;
  checksum: string;
}

/**
 * A distroless image assembled from apk packages (apko semantics): one layer (or apko's origin
 * layering when the config has `layering`), reproducible,
 * multi-arch, with SPDX SBOMs. Preview resolves every package and shows version changes; `up`
 * builds and pushes only blobs the registry lacks.
 */
export class DistrolessImage extends pulumi.dynamic.Resource {
  /** The image index digest (`sha256:...`). */
  declare public readonly digest: pulumi.Output<string>;
  /** `repository@sha256:...`: pin deployments to exactly this image. */
  declare public readonly imageRef: pulumi.Output<string>;
  /**
   * `repository:tag@sha256:...` with the first of `tags` (the digest reference when there are no
   * tags), like @pulumi/docker-build's `ref`: readable in a Deployment, still pinned by digest.
   */
  declare public readonly ref: pulumi.Output<string>;
  /** Per apk arch: the platform manifest digest. */
  declare public readonly platforms: pulumi.Output<Record<string, string>>;
  /** Tags pointing at the image. */
  declare public readonly tags: pulumi.Output<string[]>;
  /** Per apk arch: the installed packages. */
  declare public readonly lock: pulumi.Output<Record<string, LockedPackage[]>>;
  /** Per SBOM file: its digest. */
  declare public readonly sbomDigests: pulumi.Output<Record<string, string>>;
  /** Per apk arch: the layer digest (the top layer when the config asks for `layering`). */
  declare public readonly layerDigests: pulumi.Output<Record<string, string>>;
  /** Per apk arch: every layer digest, bottom first (one unless the config asks for `layering`). */
  declare public readonly layers: pulumi.Output<Record<string, string[]>>;
  /** Digest of everything the image depends on. */
  declare public readonly inputDigest: pulumi.Output<string>;
  /** Per subject (`index` or an apk arch): the digest of the cosign signature manifest (`.sig`). */
  declare public readonly signatureDigests: pulumi.Output<Record<string, string>>;
  /** Per subject: the digest of the cosign attestation manifest (`.att`, the SPDX SBOM). */
  declare public readonly attestationDigests: pulumi.Output<Record<string, string>>;
  /** SHA-256 of the signing public key (SPKI DER), when the image is signed. */
  declare public readonly signer: pulumi.Output<string | undefined>;
  /** Digest of the provenance records attested on the image, when it is signed and has some. */
  declare public readonly provenanceDigest: pulumi.Output<string | undefined>;
  /** The repository pushed to (as given), when pushing. */
  declare public readonly repository: pulumi.Output<string | undefined>;
  /** The `outputPath` written, when given. */
  declare public readonly outputPath: pulumi.Output<string | undefined>;
  /** The files written for `outputPath`: the layout directory, or the archive(s). */
  declare public readonly outputFiles: pulumi.Output<string[] | undefined>;
  /** What the last push moved: blobs uploaded (and their bytes), blobs the registry already had. */
  declare public readonly pushed: pulumi.Output<
    { uploadedBlobs: number; uploadedBytes: number; skippedBlobs: number } | undefined
  >;
  /** Settings refresh and destroy need (they get only the outputs), kept as given. */
  declare public readonly insecureRegistry: pulumi.Output<boolean | undefined>;
  declare public readonly caFile: pulumi.Output<string | undefined>;
  declare public readonly deleteTagsOnDestroy: pulumi.Output<boolean | undefined>;
  declare public readonly sbom: pulumi.Output<boolean | undefined>;
  /** The resource's name, which the provider puts in its messages. */
  declare public readonly resourceName: pulumi.Output<string>;

  constructor(name: string, args: DistrolessImageArgs, opts?: pulumi.CustomResourceOptions) {
    const repositories = mapList(args.repositories, (r) => (r instanceof ApkRepository ? r.reference : r));
    const packages = mapList(args.packages, (p) => (p instanceof ApkPackage ? p.ref : p));
    // The provenance of the ApkPackages among `packages` joins `provenance` (see its doc).
    const listed = knownItems(args.packages);
    const provenance =
      args.provenance === undefined && listed && !listed.some((p) => p instanceof ApkPackage)
        ? undefined
        : pulumi
            .all([
              pulumi.output(args.provenance ?? []),
              resourcesIn(args.packages, ApkPackage).apply((built) =>
                pulumi.all(built.map((p) => p.provenance)),
              ),
            ])
            .apply(([given, fromPackages]) => [...given, ...fromPackages]);
    super(
      provider,
      name,
      {
        ...args,
        repositories,
        packages,
        provenance,
        resourceName: name,
        digest: undefined,
        imageRef: undefined,
        ref: undefined,
        platforms: undefined,
        tags: args.tags,
        lock: undefined,
        sbomDigests: undefined,
        layerDigests: undefined,
        layers: undefined,
        inputDigest: undefined,
        signatureDigests: undefined,
        attestationDigests: undefined,
        signer: undefined,
        provenanceDigest: undefined,
        repository: args.repository,
        outputPath: args.outputPath,
        outputFiles: undefined,
        pushed: undefined,
        insecureRegistry: args.insecureRegistry,
        caFile: args.caFile,
        deleteTagsOnDestroy: args.deleteTagsOnDestroy,
        sbom: args.sbom,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["registryAuth", "signKey", "signKeyPassword"] }),
      RESOURCE_MODULE,
      "DistrolessImage",
    );
  }
}
