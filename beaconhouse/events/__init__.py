"""Events: the contract, validation and enrichment."""
