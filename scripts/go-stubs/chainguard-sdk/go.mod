module chainguard.dev/sdk

go 1.26
