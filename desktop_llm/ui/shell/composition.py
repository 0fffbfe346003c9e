"""Build the services and the window's content, and take them down again in order.

This is the composition root's second half (``app.py`` is the first): it runs after the window
is on screen, so the imports and set-up here (httpx, the keyring, the database) never delay the
first paint. Each part gets only what it needs; blocking work (opening the database, the
keyring, loading tokenizers) runs off the Qt thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QWidget

from desktop_llm.core.highlight_pool import HighlightPool
from desktop_llm.core.paths import AppPaths
from desktop_llm.core.tokens import TokenCounter
from desktop_llm.providers import RetryPolicy
from desktop_llm.secrets import KeyStore, environment_providers
from desktop_llm.services.attachment_prep import preload_image_libraries
from desktop_llm.services.chat import ChatService
from desktop_llm.services.chat_attachments import ChatAttachments
from desktop_llm.services.chat_tools import ChatTools
from desktop_llm.services.compare import CompareService
from desktop_llm.services.context_planner import ContextPlanner
from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.exchange import ExchangeService
from desktop_llm.services.logs import KeyRedactor
from desktop_llm.services.mcp_config import McpConfigService, secret_values
from desktop_llm.services.mcp_manager import McpManager
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.remote_batches import RemoteBatchService
from desktop_llm.services.settings import AppSettings, SettingsService
from desktop_llm.services.templates import TemplateService
from desktop_llm.services.tool_loop import McpApprovals
from desktop_llm.services.usage import UsageService, open_catalog
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.response_cache import SqliteResponseCache
from desktop_llm.ui.chat.thumbnails import ThumbnailCache
from desktop_llm.ui.chat.token_meter import ChatContextPreview
from desktop_llm.ui.common.chat_bridge import ChatBridge
from desktop_llm.ui.common.math_images import MathImages
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.common.theme import apply_theme, wants_dark
from desktop_llm.ui.settings import exchange_dialogs
from desktop_llm.ui.shell.attachment_feature import AttachmentFeature, choose_files
from desktop_llm.ui.shell.context_feature import ContextFeature
from desktop_llm.ui.shell.first_paint import FirstPaint
from desktop_llm.ui.shell.main_window import MainWindow, WindowCommands
from desktop_llm.ui.shell.status_bar import StatusBar
from desktop_llm.ui.shell.template_feature import TemplateFeature
from desktop_llm.ui.shell.workspace import Workspace
from desktop_llm.ui.templates.batches_feature import BatchesFeature

if TYPE_CHECKING:
    import keyring.backend

    from desktop_llm.providers.batch_base import BatchClient

log = logging.getLogger(__name__)


class RedactingKeyStore(KeyStore):
    """A key store that tells the log redactor about every key it reads or stores."""

    def __init__(self, redactor: KeyRedactor, backend: keyring.backend.KeyringBackend | None = None) -> None:
        super().__init__(backend)
        self._redactor = redactor

    def get(self, setting_id: str) -> str | None:
        """Return the stored key (and keep it out of the log from now on)."""
        key = super().get(setting_id)
        self._redactor.add(*secret_values(setting_id, key))
        return key

    def set(self, setting_id: str, key: str) -> None:
        """Store ``key`` (and keep it out of the log from now on)."""
        self._redactor.add(*secret_values(setting_id, key))
        super().set(setting_id, key)


@dataclass
class Services:
    """The app's services, built once per run."""

    db: DatabaseThread
    keystore: KeyStore
    directory: ProviderDirectory
    bridge: ChatBridge
    chat: ChatService
    conversations: ConversationService
    settings: SettingsService
    exchange: ExchangeService
    app_settings: AppSettings
    planner: ContextPlanner
    usage: UsageService
    batches: RemoteBatchService
    attachments: ChatAttachments
    templates: TemplateService
    compare: CompareService
    response_cache: SqliteResponseCache  # replies already paid for, shared by batch runs here and remote
    catalog_problem: str | None = None  # why the user's models.json is not used, if it is not
    preloading: asyncio.Future[None] | None = None  # the image libraries loading, once asked for
    mcp_config: McpConfigService | None = None  # MCP servers, their secrets and approvals
    mcp: McpManager | None = None  # the running MCP servers

    def preload_image_libraries(self) -> asyncio.Future[None]:
        """Load Pillow off the Qt thread, once: a person is about to attach a file.

        Not at start-up (it is memory most runs never use), and not left to the first file
        either: an import holds the interpreter lock, which would stall the window for a tenth
        of a second just as the file is attached.
        """
        if self.preloading is None:
            self.preloading = asyncio.ensure_future(asyncio.to_thread(preload_image_libraries))
            self.preloading.add_done_callback(_log_preload_failure)
        return self.preloading

    async def aclose(self) -> None:
        """Stop streams (partial replies saved as ``stopped``), close providers, MCP servers, the database."""
        await self.chat.stop_all()
        await self.directory.aclose()
        if self.mcp is not None:
            await self.mcp.aclose()
        await self.db.aclose()


async def build_services(
    paths: AppPaths,
    *,
    redactor: KeyRedactor,
    environ: Mapping[str, str] = os.environ,
    keyring_backend: keyring.backend.KeyringBackend | None = None,
    retry: RetryPolicy | None = None,
    holds_lock: bool = True,
    first_paint: FirstPaint | None = None,
) -> Services:
    """Open the database (unless the first paint did) and build every service.

    Args:
        holds_lock: this process holds the data-folder lock, so replies left ``streaming`` by a
            crash are marked ``interrupted`` (only the holder may).
        first_paint: the window's first paint: its database thread and conversation service
            are used, not built again.
    """
    redactor.add(*(env.api_key for env in environment_providers(environ)))
    db = first_paint.db if first_paint else DatabaseThread(paths.database)
    keystore = RedactingKeyStore(redactor, keyring_backend)  # the keyring loads on first use
    if holds_lock:
        recovered = await db.call(lambda d: MessageRepository(d).recover_interrupted())
        if recovered:
            log.info("marked %d replies left streaming by the last run as interrupted", recovered)
    settings = SettingsService(db, keystore)
    app_settings = await settings.app_settings()
    directory = ProviderDirectory(db, keystore, environ=environ, retry=retry)
    directory.set_proxy(app_settings.proxy)
    directory.set_content_timeout(app_settings.content_timeout)
    bridge = ChatBridge()
    # The user's <data>/models.json over the shipped catalog; a broken one is reported, not fatal.
    catalog, catalog_problem = await asyncio.to_thread(open_catalog, paths.data / "models.json")
    planner = ContextPlanner(TokenCounter(), catalog)
    attachments = ChatAttachments(db, directory, catalog)
    mcp_config = McpConfigService(db, keystore)
    mcp = McpManager(mcp_config, log_dir=paths.logs)
    tools = ChatTools(mcp, McpApprovals(mcp_config), max_rounds=lambda: services.app_settings.tool_rounds)
    response_cache = SqliteResponseCache(db)
    services = Services(
        db=db,
        keystore=keystore,
        directory=directory,
        bridge=bridge,
        chat=ChatService(
            db,
            directory,
            bridge,
            planner=planner,
            auto_titles=lambda: services.app_settings.auto_titles,
            attachments=attachments,
            tools=tools,
        ),
        conversations=first_paint.conversations if first_paint else ConversationService(db),
        settings=settings,
        exchange=ExchangeService(db),
        app_settings=app_settings,
        planner=planner,
        usage=UsageService(db, catalog),
        batches=RemoteBatchService(
            db,
            lambda entry_id: _batch_client(directory, entry_id),
            work_dir=paths.cache / "batches",
            cache=response_cache,
            catalog=catalog,
        ),
        attachments=attachments,
        templates=TemplateService(db),
        compare=CompareService(db, directory),
        response_cache=response_cache,
        catalog_problem=catalog_problem,
    )
    services.mcp_config = mcp_config
    services.mcp = mcp
    # No tokenizer is loaded here: each is read (off the Qt thread, by the planner's counting)
    # when a model that needs it is first metered, so a person who never uses an OpenAI model
    # never pays the ~100 MB and the GIL stall of building tiktoken's encoders at start-up.
    # Nor the image libraries: see Services.preload_image_libraries.
    return services


async def _batch_client(directory: ProviderDirectory, entry_id: str) -> BatchClient:
    """Return the batch client for a provider entry, with its key looked up now (never stored)."""
    from desktop_llm.providers.batches import batch_client  # the HTTP stack loads with the first batch

    return batch_client(await directory.provider(entry_id))


def _log_preload_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the image libraries could not be loaded", exc_info=task.exception())


class Composition:
    """The running app's parts inside the window, and the commands its menus run.

    Args:
        window: the main window, already on screen.
        services: from :func:`build_services`.
        log_folder: opened by Help > Open log folder.
        open_url: opens links (injectable for tests).
        open_settings_dialog: builds and shows the Settings dialog (injectable for tests).
        pick_files: asks for files to attach (injectable for tests).
        first_paint: the window's first paint (its sidebar and task keeper are taken over).
    """

    def __init__(
        self,
        window: MainWindow,
        services: Services,
        *,
        log_folder: Path,
        open_url: Callable[[QUrl], object] = QDesktopServices.openUrl,
        open_settings_dialog: Callable[[Composition], object] | None = None,
        pick_files: Callable[[QWidget], Sequence[str]] = choose_files,
        first_paint: FirstPaint | None = None,
    ) -> None:
        self.window = window
        self.services = services
        self._log_folder = log_folder
        self._open_url = open_url
        self._open_settings_dialog = open_settings_dialog or _open_settings_dialog
        self.status_bar = StatusBar(services.bridge)
        self.tasks = first_paint.tasks if first_paint else TaskKeeper(self.show_error)
        # The workers that draw replies (code colours in a child process, formulas on a thread),
        # one each for every view; started on first use, stopped by ``shutdown``.
        self.highlighter = HighlightPool()
        self.math = MathImages(scale=window.devicePixelRatioF())
        self.workspace = Workspace(
            sidebar=first_paint.sidebar if first_paint else None,
            chat=services.chat,
            conversations=services.conversations,
            directory=services.directory,
            bridge=services.bridge,
            status_bar=self.status_bar,
            tasks=self.tasks,
            export_conversation=self.export_conversation,
            open_url=open_url,
            highlighter=self.highlighter,
            math=self.math,
        )
        self.workspace.window_title_changed.connect(window.setWindowTitle)
        self.workspace.settings_requested.connect(self.open_settings)
        self.batches = BatchesFeature(services.batches, self.tasks, window)
        self.templates = TemplateFeature(
            self.workspace,
            services.templates,
            services.compare,
            services.response_cache,
            services.directory,
            self.tasks,
            batches=self.batches,
            highlighter=self.highlighter,
            math=self.math,
        )
        self.thumbnails = ThumbnailCache(services.attachments.blob)
        composer = self.workspace.composer
        self.context = ContextFeature(
            self.workspace,
            preview=ChatContextPreview(
                services.chat,
                services.planner,
                draft_files=lambda: [draft.attachment for draft in composer.tray.drafts()],
                attachments=services.attachments,
            ),
            usage=services.usage,
            status_bar=self.status_bar,
            tasks=self.tasks,
        )
        composer.tray.changed.connect(self.context.meter.schedule)
        self.attachments = AttachmentFeature(
            self.workspace,
            attachments=services.attachments,
            thumbnails=self.thumbnails,
            tasks=self.tasks,
            open_url=open_url,
            pick_files=pick_files,
            about_to_attach=services.preload_image_libraries,
        )
        window.install(self.workspace, self.status_bar, self._commands())

    def show_error(self, message: str) -> None:
        """Show a known failure's message in the status bar for a while."""
        self.window.show_error(message)

    def _commands(self) -> WindowCommands:
        workspace = self.workspace
        return WindowCommands(
            new_chat=workspace.new_chat,
            focus_search=workspace.focus_search,
            find_in_chat=workspace.find_in_chat,
            stop=workspace.stop_current,
            edit_last=workspace.on_composer_edit_last_requested,
            rename=workspace.rename_current,
            delete=workspace.trash_current,
            export_conversation=workspace.export_current,
            export_all=self.export_all,
            import_file=self.import_file,
            open_settings=self.open_settings,
            toggle_sidebar=self.templates.set_sidebar_visible,
            open_log_folder=lambda: self._open_url(QUrl.fromLocalFile(str(self._log_folder))),
            open_usage=self.context.open_usage,
            open_batches=self.batches.open,
        )

    async def start(self) -> None:
        """Apply the stored settings and show the conversations."""
        self.apply_app_settings(self.services.app_settings)
        await self.workspace.start()
        self.tasks.run(self.templates.start())  # seeds the built-in templates on first run
        self.batches.follow()  # batches sent by an earlier run or the command line
        self.tasks.run(self.refresh_tool_servers())
        if self.services.catalog_problem:
            self.context.show_catalog_problem(self.services.catalog_problem)

    def apply_app_settings(self, settings: AppSettings) -> None:
        """Apply theme, font size, send key, proxy, reply timeout and automatic titles."""
        self.services.app_settings = settings
        app = QApplication.instance()
        dark = wants_dark(settings.theme)
        if isinstance(app, QApplication):
            apply_theme(app, dark)
        self.workspace.apply_appearance(dark=dark, font_size=settings.font_size, send_key=settings.send_key)
        self.window.set_send_key_label(settings.send_key)
        self.services.directory.set_proxy(settings.proxy)
        self.services.directory.set_content_timeout(settings.content_timeout)
        if self.services.mcp is not None:
            self.services.mcp.set_proxy(settings.proxy)

    def on_settings_app_settings_changed(self, values: dict[str, Any]) -> None:
        self.apply_app_settings(AppSettings(**values))

    def on_settings_conversations_changed(self) -> None:
        self.tasks.run(self.workspace.reload_conversations())

    async def refresh_tool_servers(self) -> None:
        """Offer the enabled MCP servers in the chat header's Tools menu."""
        if self.services.mcp_config is None:
            return
        records = await self.services.mcp_config.records()
        self.workspace.header.tool_servers.set_servers([record.name for record in records if record.enabled])

    def on_settings_tool_servers_changed(self) -> None:
        self.tasks.run(self.refresh_tool_servers())

    def on_settings_providers_changed(self) -> None:
        self.services.directory.forget()
        self.workspace.reload_providers()

    # -- dialogs -----------------------------------------------------------------------------

    def open_settings(self) -> None:
        """Open the Settings dialog (Ctrl+,), once the keyring is known."""

        async def run() -> None:
            # The dialog shows the keyring's status; the first look picks the backend (D-Bus),
            # which must not happen on the Qt thread.
            await asyncio.to_thread(lambda: self.services.keystore.status)
            self._open_settings_dialog(self)

        self.tasks.run(run())

    def export_conversation(self, conversation_id: str) -> None:
        self.tasks.run(
            exchange_dialogs.export_conversation(self.window, self.services.exchange, conversation_id)
        )

    def export_all(self) -> None:
        self.tasks.run(exchange_dialogs.export_all(self.window, self.services.exchange))

    def import_file(self) -> None:
        async def run() -> None:
            outcome = await exchange_dialogs.import_file(self.window, self.services.exchange)
            if outcome is not None:
                await self.workspace.reload_conversations()

        self.tasks.run(run())

    async def shutdown(self) -> None:
        """Stop streams (saved as ``stopped``), other work, the drawing workers, providers and the database.

        In that order: nothing renders a reply once its stream has stopped, so the drawing
        workers go next; the database closes last.
        """
        self.tasks.close()  # a debounced refresh due later must not start work on closed services
        await self.services.chat.stop_all()
        self.tasks.cancel_all()
        await self.tasks.join()
        self.math.close()
        self.highlighter.close()
        await self.services.aclose()


def _open_settings_dialog(composition: Composition) -> object:
    # Imported when first opened: most runs never open Settings, and its pages are many.
    from desktop_llm.ui.settings.settings_dialog import SettingsDialog

    services = composition.services
    dialog = SettingsDialog(
        services.settings,
        services.directory,
        services.keystore.status,
        services.db.path.parent,
        services.exchange,
        services.conversations,
        parent=composition.window,
        mcp_config=services.mcp_config,
        mcp_manager=services.mcp,
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.providers_changed.connect(composition.on_settings_providers_changed)
    dialog.app_settings_changed.connect(composition.on_settings_app_settings_changed)
    dialog.conversations_changed.connect(composition.on_settings_conversations_changed)
    dialog.tool_servers_changed.connect(composition.on_settings_tool_servers_changed)
    dialog.open()
    return dialog
