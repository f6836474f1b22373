//go:build tools

// Package tools pins the test-bed program built from this module.
package tools

import (
	_ "github.com/caddyserver/caddy/v2/cmd/caddy"
)
