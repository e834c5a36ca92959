/**
 * The OCI distribution client: push an OCI layout (uploading only what the registry lacks), query
 * and remove tags, attach and list referrers (SBOMs). Every function takes `RegistryOptions`
 * (credentials, CA bundle, insecure, retries, progress) and an optional shared `RegistryClient`.
 */

export type { RegistryOptions, RepositoryAccess } from "./client";
export { RegistryClient } from "./client";
export type { RegistryAuth } from "./credentials";
export { lookupCredentials } from "./credentials";
export type { ManifestInfo } from "./manifests";
export type { ByteCount, PushEvent, PushLayoutOptions, PushResult } from "./push";
export { pushLayout } from "./push";
export type { ImageReference } from "./reference";
export { formatReference, parseReference } from "./reference";
export type { AttachReferrerOptions, AttachReferrerResult, ListReferrersOptions } from "./referrers";
export { attachReferrer, fallbackTag, listReferrers } from "./referrers";
export type { RetryPolicy } from "./retry";
export type { DeleteTagOptions, DeleteTagResult, QueryOptions } from "./tags";
export { DELETED_TAG_ARTIFACT_TYPE, deleteTag, imageExists, listTags, resolveTag } from "./tags";
export type { RequestStats } from "./wire";
