import * as pulumi from "@pulumi/pulumi";
import * as sdk from "../../sdk";

/**
 * The `__provider` text the real SDK classes serialize, captured by constructing each resource
 * under `pulumi.runtime.setMocks` (what the engine would receive from a program).
 */
export async function serializedProviders(): Promise<Record<string, string>> {
  const captured: Record<string, string> = {};
  let pending = 3;
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const type = args.type.split(":").pop()!;
        captured[type] = String(args.inputs.__provider);
        if (--pending === 0) done();
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "pulumi-distroless-test",
    "test",
    false,
  );
  new sdk.ApkPackage("p", { configFile: "melange.yaml", signingKey: pulumi.secret("k") });
  new sdk.ApkRepository("r", { path: "repo", signingKey: pulumi.secret("k") });
  new sdk.DistrolessImage("i", { configFile: "apko.yaml" });
  await all;
  return captured;
}
