"""Integration-test harness: real headscale servers, real tailscaled nodes, our modules run as Ansible runs them.

See docs/dev/testing.md.
"""
