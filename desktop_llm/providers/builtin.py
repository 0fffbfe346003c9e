"""Import the built-in wire protocols so that each registers itself, as an extension would."""

from desktop_llm.providers import anthropic, gemini, ollama, openai

__all__ = ["anthropic", "gemini", "ollama", "openai"]
