"""The bundle's program: the same as the ``desktop-llm-gui`` launcher (the window, or the command line)."""

import sys

from desktop_llm.__main__ import gui_main

if __name__ == "__main__":
    sys.exit(gui_main())
