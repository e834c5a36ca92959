/** The fetch side of apk repositories: indexes, keys and packages, verified and cached. */
export { type BasicCredentials, credentialsFromEnv, type HostCredentials } from "./auth";
export { defaultCacheDir, RepositoryCache } from "./cache";
export { RepositoryClient } from "./client";
export type { RepositoryOptions } from "./context";
export { HttpClient, type RetryPolicy } from "./http";
export { clearIndexMemo, type LoadedIndex } from "./index-loader";
export type { TrustRecord } from "./index-trust";
export type { KeySource } from "./keys";
export type { FetchedPackage, FetchPackageOptions, PackageRef } from "./package-fetcher";
export {
  displayLocation,
  indexLocation,
  packageLocation,
  parseRepositorySource,
  type RepositorySource,
  redactUrl,
} from "./source";
