//go:build tools

// Package tools pins talosctl for `go mod tidy` (see go.mod).
package tools

import _ "github.com/siderolabs/talos/cmd/talosctl"
