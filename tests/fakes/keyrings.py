"""Hand-written keyring backends: one that keeps passwords in a dict, one whose every write fails."""

from __future__ import annotations

import keyring.backend
import keyring.errors


class DictKeyring(keyring.backend.KeyringBackend):
    """A keyring that keeps passwords in a dict: a real backend object, counted as a system keyring."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class LockedKeyring(DictKeyring):
    """A keyring that reads but refuses to store anything, like a locked one whose prompt was dismissed."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")
