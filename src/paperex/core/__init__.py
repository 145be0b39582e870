"""The pure, deterministic exchange core: commands in, events out, no I/O, no wall clock."""
