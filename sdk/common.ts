import * as pulumi from "@pulumi/pulumi";

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

/**
 * A list input as Pulumi programs pass them: a plain array (of values, outputs or, where the field
 * says so, resources), or an output or promise of such an array.
 */
export type ListInput<T> = pulumi.Input<pulumi.Input<T>[]>;

/**
 * Maps each item of a list input. A plain array stays a plain array (each item mapped as soon as it
 * is known), so programs that pass arrays send the same inputs as before; an output of an array
 * becomes an output of the mapped array. Resources pass through as themselves (`pulumi.output`
 * never unwraps a resource), so `fn` can tell them apart.
 */
export function mapList<T>(
  list: ListInput<T> | undefined,
  fn: (item: T) => unknown,
): pulumi.Input<unknown[]> | undefined {
  if (list === undefined) return undefined;
  const mapped = (item: unknown): unknown =>
    pulumi.Output.isInstance(item) || item instanceof Promise
      ? pulumi.output(item).apply((v) => pulumi.output(fn(v as T)))
      : fn(item as T);
  if (Array.isArray(list)) return list.map(mapped);
  return pulumi
    .output(list)
    .apply((items) => pulumi.all((items as unknown[]).map((i) => pulumi.output(fn(i as T)))));
}

/** The items of a list input that are instances of `cls` (resources), as one output. */
export function resourcesIn<T, C>(
  list: ListInput<T> | undefined,
  cls: new (...args: never[]) => C,
): pulumi.Output<C[]> {
  return pulumi
    .output(list ?? [])
    .apply((items) => (items as unknown[]).filter((item): item is C => item instanceof cls));
}

/** The items of a list input when they are all known now (a plain array of plain values); else undefined. */
export function knownItems<T>(list: ListInput<T> | undefined): unknown[] | undefined {
  if (list === undefined) return [];
  if (!Array.isArray(list)) return undefined;
  return list.some((item) => pulumi.Output.isInstance(item) || item instanceof Promise) ? undefined : list;
}
