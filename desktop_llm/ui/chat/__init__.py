"""The chat feature: the conversation view, the message box, attachments, the conversation list."""
