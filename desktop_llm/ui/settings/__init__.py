"""The Settings dialog: providers, general settings, data (export and import), MCP tools."""
