import type * as pulumi from "@pulumi/pulumi";

/**
 * The object Pulumi serializes into state as `__provider`. Each method only `require`s the
 * implementation from this package by module name, so the serialized text is a few hundred bytes,
 * captures none of our code, and an upgrade of this package changes behaviour without changing the
 * serialized provider (no spurious diffs). The program's node_modules must hold pulumi-distroless,
 * which is where the dynamic provider process (started in the program directory) resolves it.
 */
export function providerFor(modulePath: string): pulumi.dynamic.ResourceProvider {
  return {
    check: (olds, news) => require(modulePath).provider.check(olds, news),
    diff: (id, olds, news) => require(modulePath).provider.diff(id, olds, news),
    create: (inputs) => require(modulePath).provider.create(inputs),
    update: (id, olds, news) => require(modulePath).provider.update(id, olds, news),
    read: (id, props) => require(modulePath).provider.read(id, props),
    delete: (id, props) => require(modulePath).provider.delete(id, props),
  };
}

/** The dynamic resource module that shows in URNs: `pulumi-nodejs:dynamic/pulumi-distroless:<Type>`. */
export const RESOURCE_MODULE = "pulumi-distroless";
