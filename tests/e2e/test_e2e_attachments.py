"""The real app under Xvfb: an image copied to the X clipboard is pasted into the message box and sent.

A second process (Qt on the same display) owns the X clipboard with a PNG on it, as a screenshot
tool would leave it; xdotool presses Ctrl+V in the app, types the question and Enter, and the
request the fake server received must carry the image.
"""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import time
from pathlib import Path

from fakes.provider_server import ProviderServer, Reply
from PIL import Image
from test_e2e_app import (
    _environment,
    _focus_window,
    _log_says,
    _poll,
    _replies,
    _xdotool,
    pytestmark,
)

__all__ = ["pytestmark"]

CLIPBOARD_OWNER = """
import sys
from PySide6.QtGui import QColor, QGuiApplication, QImage
app = QGuiApplication(sys.argv[:1])
image = QImage(320, 200, QImage.Format.Format_RGB32)
image.fill(QColor(30, 144, 255))
app.clipboard().setImage(image)
print("ready", flush=True)
app.exec()
"""


def test_paste_an_image_from_the_clipboard_and_send_it(repo_root, tmp_path) -> None:
    data = tmp_path / "data"
    database, log = data / "desktop-llm.sqlite3", data / "logs" / "desktop-llm.log"
    artifacts = repo_root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with ProviderServer() as server:
        server.push(Reply(text="A blue rectangle."))
        env = _environment(repo_root, server)
        owner = subprocess.Popen(
            [sys.executable, "-c", CLIPBOARD_OWNER], env=env, stdout=subprocess.PIPE, text=True
        )
        app = subprocess.Popen(
            [sys.executable, "-m", "desktop_llm", "--data-dir", str(data)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
            _poll(
                "the window to be ready",
                lambda: _log_says(log, "the window is ready") or app.poll() is not None,
            )
            assert app.poll() is None, app.communicate()
            _focus_window()
            time.sleep(1.0)  # as a person would: the new chat and its model settle first
            _xdotool("key", "ctrl+v")
            time.sleep(1.0)  # the chip appears once the image is encoded off the Qt thread
            _xdotool("type", "--delay", "20", "What colour is this?")
            subprocess.run(
                ["import", "-window", "root", str(artifacts / "e2e-paste.png")], check=True, timeout=30
            )
            _xdotool("key", "Return")
            _poll("the reply", lambda: [r for r in _replies(database) if r[0] == "complete"])
            parts = server.chat_requests[0].json["messages"][-1]["content"]
            assert parts[0] == {"type": "text", "text": "What colour is this?"}
            url = parts[1]["image_url"]["url"]
            assert url.startswith("data:image/png;base64,")
            with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent:
                assert sent.size == (320, 200)
                assert sent.convert("RGB").getpixel((5, 5)) == (30, 144, 255)
            _focus_window()
            _xdotool("key", "ctrl+q")
            app.wait(timeout=30)
        finally:
            for process in (app, owner):
                if process.poll() is None:
                    process.kill()
            _out, err = app.communicate()
            owner.communicate()
    assert app.returncode == 0, err
    assert Path(database).exists()
