"""The window that holds the features: composition, main window, workspace, and their wiring."""
