/** The solver (world -> packages per arch) and the lock it produces. */
export {
  type ApkoLockFile,
  type ApkoLockPackage,
  type PinnedPackage,
  parseApkoLock,
  readApkoLockFile,
  toApkoLock,
  writeApkoLockFile,
} from "./apko-lock";
export { type Constraint, parseConstraint, versionMatches } from "./constraint";
export { ResolveError } from "./explain";
export {
  computeLockDigest,
  type Lock,
  type LockedPackage,
  lockFromSolutions,
  lockSummary,
  repositoryOf,
} from "./lock";
export { newerThanLocked, solveLocked } from "./locked";
export { crossArchAvoid, solveAllArchs } from "./multi-arch";
export { Candidate, PackageIndex, type ProviderRef, packageIndexFor, type RepoInfo } from "./package-index";
export {
  packageRefFor,
  type ResolveInput,
  type ResolveOptions,
  type ResolveOutput,
  resolvePackages,
} from "./resolve";
export { type Solution, type SolveOptions, solve } from "./solver";
