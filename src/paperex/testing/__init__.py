"""A testing kit for bots: ``Venue`` (start an exchange, make accounts, steer prices, time and faults, read the
request log) and a pytest plugin (``paperex.testing.plugin``: the ``paperex`` fixtures). docs/testing.md."""

from paperex.testing.venue import Account, Venue, VenueError

__all__ = ["Account", "Venue", "VenueError"]
