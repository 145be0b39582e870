"""Admin operations (accounts, keys, deposits; later scenarios) for the CLI and ``/admin/v1``."""
