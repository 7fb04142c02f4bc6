"""pdeflow.manifold."""
