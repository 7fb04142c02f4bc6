"""pdeflow.validation."""
