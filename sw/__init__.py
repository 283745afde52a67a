"""sw package."""
