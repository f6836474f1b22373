//go:build tools

// Package tools pins the test-bed program built from this module.
package tools

import (
	_ "tailscale.com/cmd/tailscale"
	_ "tailscale.com/cmd/tailscaled"
)
