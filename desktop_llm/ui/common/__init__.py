"""What every feature of the window shares: the task keeper, safe labels, the theme, list panes, icons."""
