//go:build tools

// Package tools pins the test-bed program built from this module.
package tools

import (
	_ "github.com/juanfont/headscale/cmd/headscale"
)
