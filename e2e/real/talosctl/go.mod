// Builds talosctl from its Go module at the version e2e/real/talos-docker.sh
// pins (e2e/tests/real_plans.rs checks they agree). `go install
// github.com/siderolabs/talos/cmd/talosctl@vX` is refused because Talos's
// go.mod has replace directives, and a dependency's replaces are ignored, so
// they are repeated here from Talos v1.14.0's go.mod; its `./pkg/machinery`
// replace (a directory the module zip does not hold) becomes the published
// machinery module of the same version. go.sum is written by the first
// build (`GOFLAGS=-mod=mod`); the Go proxy of the development sandbox does
// not serve all of Talos's dependencies, so it is not checked in.
module github.com/kubectl-pki/kubectl-pki/e2e/real/talosctl

go 1.26.5

require (
	github.com/siderolabs/talos v1.14.0
	github.com/siderolabs/talos/pkg/machinery v1.14.0
)

replace (
	github.com/coredns/coredns => github.com/siderolabs/coredns v1.14.53
	github.com/mdlayher/ethtool => github.com/siderolabs/ethtool v0.6.0-sidero
	github.com/mdlayher/kobject => github.com/smira/kobject v0.0.0-20240304111826-49c8d4613389
	github.com/secure-io/siv-go => github.com/smira/siv-go v0.0.0-20260706144621-2093d2730928
	golang.zx2c4.com/wireguard/wgctrl => github.com/siderolabs/wgctrl-go v0.0.0-20251029173431-c4fd5f6a4e72
)
