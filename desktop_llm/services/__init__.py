"""Application logic on asyncio, no widgets."""
