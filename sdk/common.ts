import type * as pulumi from "@pulumi/pulumi";

/** Credentials for an OCI registry (basic auth or a token exchanged by the registry's challenge). */
export interface RegistryAuth {
  /** User name (for token registries: often `oauth2accesstoken` or `<token>`). */
  username: pulumi.Input<string>;
  /** Password or token. Pass it as a secret (`pulumi.secret` / `config.requireSecret`). */
  password: pulumi.Input<string>;
}

/** A trusted public key for a repository: a file path, a URL, or the PEM itself with its apk key name. */
export type KeyInput = string | { name: pulumi.Input<string>; pem: pulumi.Input<string> };

/** One built .apk as ApkPackage reports it (and ApkRepository accepts). */
export interface BuiltPackage {
  /** The apk architecture (`x86_64`, `aarch64`, ...). */
  arch: string;
  name: string;
  /** `<version>-r<epoch>` */
  version: string;
  /** Path of the .apk on the machine that built it. */
  file: string;
  /** apk file size in bytes. */
  size: number;
  /** The package's `C:` checksum (`Q1...`). */
  checksum: string;
  /** SHA-256 of the data segment. */
  datahash: string;
}

/**
 * A built package's SLSA provenance (melange's `<name>-<ver>-r<epoch>.attest.tar.gz` beside the
 * apk): what DistrolessImage attests on images that install that package.
 */
export interface PackageProvenance {
  arch: string;
  name: string;
  version: string;
  /** The package's `C:` checksum: the provenance is attested only where exactly this package is installed. */
  checksum: string;
  /** Path of the provenance file on the machine that built it. */
  file: string;
  /** `sha256:` of the in-toto statement in it. */
  digest: string;
}
