"""Output: a flutter-doctor-style human view and the contract's JSON."""
