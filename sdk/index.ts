/**
 * pulumi-distroless: the user-facing resources (ApkPackage, ApkRepository, DistrolessImage).
 * The engine-independent core lives in `provider/`.
 */
export const PROVIDER_NAME = "pulumi-distroless";
