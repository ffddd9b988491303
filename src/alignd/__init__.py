"""alignd: a self-hosted domain-alignment service speaking the Nugen Intelligence API v3."""

__version__ = "0.1.0"
