"""One package per integration, each assembling its own ``defs``."""
