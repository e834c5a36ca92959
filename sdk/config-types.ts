import type * as pulumi from "@pulumi/pulumi";
import type { Recipe } from "../provider/build/recipe/schema";
import type { RawApkoConfig } from "../provider/image/config/schema";

/*
 * The `config` objects' types, derived from the schemas the validators use (the validated types of
 * provider/image/config/schema.ts and provider/build/recipe/schema.ts), so a key added to or renamed
 * in a schema changes these types too. Keys are the camelCase spellings the validators accept for
 * objects. Every field is optional at the type level (the validator names what is missing, with its
 * YAML path), and numbers may also be given as the strings YAML would hold (`permissions: "0755"`).
 */
export type ConfigInput<T> = T extends readonly (infer U)[]
  ? ConfigInput<U>[]
  : T extends number
    ? number | string
    : T extends string
      ? string // literal unions (arch names) are checked, with the accepted names, by the validator
      : T extends object
        ? { [K in keyof T]?: ConfigInput<T[K]> }
        : T;

type Entrypoint = NonNullable<RawApkoConfig["entrypoint"]>;

/**
 * An apko config (apko.yaml's schema) as an object. `entrypoint.command` and `cmd` are the schema's
 * two fields that validation transforms (a command line split into argv): here they are the string
 * written, as in apko.yaml.
 */
export type ApkoConfigObject = Omit<ConfigInput<RawApkoConfig>, "entrypoint" | "cmd"> & {
  entrypoint?: Omit<ConfigInput<Entrypoint>, "command"> & { command?: string };
  cmd?: string;
};

/** A melange recipe (melange.yaml's schema) as an object. */
export type MelangeRecipeObject = ConfigInput<Recipe>;

/** Exactly one of a config file or a config object. */
export type ConfigSource<T> =
  | { /** Path of the config file. */ configFile: pulumi.Input<string>; config?: undefined }
  | { configFile?: undefined /** The config as an object. */; config: pulumi.Input<T> };
