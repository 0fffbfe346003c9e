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

from e2e_window import E2E_MARKS, environment, poll, replies, running_app, xdotool
from fakes.provider_server import ProviderServer, Reply
from PIL import Image

pytestmark = E2E_MARKS

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
    with ProviderServer() as server:
        server.push(Reply(text="A blue rectangle."))
        env = environment(repo_root, server)
        owner = subprocess.Popen(
            [sys.executable, "-c", CLIPBOARD_OWNER], env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
            with running_app(repo_root, tmp_path, env) as app:
                time.sleep(1.0)  # as a person would: the new chat and its model settle first
                xdotool("key", "ctrl+v")
                time.sleep(1.0)  # the chip appears once the image is encoded off the Qt thread
                xdotool("type", "--delay", "20", "What colour is this?")
                app.screenshot("e2e-paste.png")
                xdotool("key", "Return")
                poll("the reply", lambda: [r for r in replies(app.database) if r[0] == "complete"])
                parts = server.chat_requests[0].json["messages"][-1]["content"]
                assert parts[0] == {"type": "text", "text": "What colour is this?"}
                url = parts[1]["image_url"]["url"]
                assert url.startswith("data:image/png;base64,")
                with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent:
                    assert sent.size == (320, 200)
                    assert sent.convert("RGB").getpixel((5, 5)) == (30, 144, 255)
                app.quit()
        finally:
            if owner.poll() is None:
                owner.kill()
            owner.communicate()
    assert app.process.returncode == 0, app.stderr
    assert app.database.exists()
