"""The real app under Xvfb, driven like a person would: type, press Enter, read the reply, Ctrl+Q.

How the app is started and driven is in ``e2e_window.py``; a picture of the screen is kept as
``test-artifacts/e2e.png``.
"""

from __future__ import annotations

from e2e_window import E2E_MARKS, environment, log_says, poll, replies, running_app, xdotool
from fakes.provider_server import ProviderServer, Reply

pytestmark = E2E_MARKS


def test_type_a_message_get_the_reply_and_quit_with_a_reply_streaming(repo_root, tmp_path) -> None:
    with ProviderServer() as server:
        server.push(Reply(text="Hello from the fake server, through the real window."))
        with running_app(repo_root, tmp_path, environment(repo_root, server)) as app:
            xdotool("type", "--delay", "20", "Hello from xdotool")
            xdotool("key", "Return")

            done = poll(
                "the reply in the database", lambda: [r for r in replies(app.database) if r[0] == "complete"]
            )
            assert done[0][1] == "Hello from the fake server, through the real window."
            assert server.chat_requests[0].json["messages"][-1] == {
                "role": "user",
                "content": "Hello from xdotool",
            }
            app.screenshot("e2e.png")

            # A second message whose reply is still streaming when the person quits.
            server.push(Reply(text=" ".join(f"word{i}" for i in range(500)), delay=0.05))
            xdotool("type", "--delay", "20", "A long one please")
            xdotool("key", "Return")
            poll(
                "the reply to start streaming",
                lambda: len(replies(app.database)) == 2 and replies(app.database)[1][1],
            )
            app.quit()
    assert app.process.returncode == 0, app.stderr
    status, text = replies(app.database)[1]
    assert status == "stopped"
    assert text.startswith("word0") and not text.endswith("word499")
    assert log_says(app.log, "Desktop LLM closed cleanly")
