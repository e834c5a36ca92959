/**
 * Building apk packages from melange recipes: `buildPackage` (the whole build), `prepareBuild`
 * (everything short of running: plan, environment lock, inputDigest), `computeInputDigest` (pure),
 * dependency detection and the ELF reader.
 */
export { type BuildPackageOptions, type BuildResult, type BuiltPackage, buildPackage } from "./build";
export { type Detected, type DetectOptions, detectDependencies, mergeDependencies } from "./detect/detect";
export { type ElfInfo, readElfBuffer, readElfFile } from "./detect/elf";
export { directoryPackageFs, type PackageFs } from "./detect/package-fs";
export { type GuestInstaller, type GuestRoot, prepareGuestRoot } from "./environment/guest-root";
export { type EnvironmentLock, type EnvironmentPackage, environmentLockDigest } from "./environment/lock";
export { type EnvironmentSources, resolveEnvironment } from "./environment/resolve";
export { computeInputDigest, type DigestInputs, type DigestOptions } from "./input-digest";
export { type BuildInputs, chooseRunner, type PreparedBuild, prepareBuild } from "./prepare";
export type { RunnerName } from "./runners/runner";
export { listSourceTree, type SourceTree, sourceTreeDigest } from "./source/source-tree";
