"""The command journal: append before acknowledging, replay on start."""
