"""Dataset readers, one module per on-disk format."""
