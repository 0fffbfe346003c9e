"""Qt widgets, item models and dialogs; they talk to services only."""
