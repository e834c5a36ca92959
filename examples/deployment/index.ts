import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DistrolessImage } from "pulumi-distroless";

// A Deployment pinned to the exact image a DistrolessImage pushed: `imageRef` is
// `repository@sha256:...`, so a new image digest rolls the Deployment, and nothing else does.
const config = new pulumi.Config();

const image = new DistrolessImage("web", {
  configFile: "apko.yaml",
  repository: config.require("repository"),
  tags: ["latest"],
});

const labels = { app: "web" };
const deployment = new k8s.apps.v1.Deployment("web", {
  spec: {
    replicas: 2,
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "web",
            image: image.imageRef,
            ports: [{ containerPort: 8080 }],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
          },
        ],
      },
    },
  },
});

export const imageRef = image.imageRef;
export const deploymentName = deployment.metadata.name;
export const platforms = pulumi.output(image.platforms);
