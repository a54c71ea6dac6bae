"""The installed version of otel-agentkit."""

__version__ = "0.1.0.dev0"
