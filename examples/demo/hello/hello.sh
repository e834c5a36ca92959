#!/bin/sh
# Installed as /usr/bin/hello by hello/melange.yaml.
echo "hello from a distroless image built by pulumi-distroless (hello @VERSION@, $(uname -m))"
