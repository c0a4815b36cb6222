"""saip."""
