"""One module per command; each imports only click at module level (fast --help)."""
