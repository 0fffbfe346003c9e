"""API keys in the operating system keyring, with environment-variable override."""
