"""newsdesk: a self-hosted news aggregator. Importing it does nothing."""

__version__ = "0.1.0"
