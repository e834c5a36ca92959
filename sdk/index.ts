/**
 * pulumi-distroless: build distroless images from apk packages inside `pulumi up`.
 *
 * - {@link ApkPackage}: melange recipe -> signed apks
 * - {@link ApkRepository}: apks -> a signed repository (or an existing remote one)
 * - {@link DistrolessImage}: repositories + packages -> a multi-arch OCI image, pushed
 */
export { ApkPackage, type ApkPackageArgs, type ApkPackageSettings } from "./apk-package";
export { ApkRepository, type ApkRepositoryArgs, type RepositoryReference } from "./apk-repository";
export type { BuiltPackage, KeyInput, PackageProvenance, RegistryAuth } from "./common";
export type { ApkoConfigObject, ConfigInput, ConfigSource, MelangeRecipeObject } from "./config-types";
export {
  DistrolessImage,
  type DistrolessImageArgs,
  type DistrolessImageSettings,
  type LockedPackage,
} from "./distroless-image";
