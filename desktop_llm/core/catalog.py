"""Look up each model's context window, output limit and list prices, shipped and user-overridable.

``resources/models.json`` holds the shipped entries and the date its prices were checked
(``as_of``). A user file (for example ``<data>/models.json``) in the same format is merged over
it: an entry with the same id and provider replaces the fields it names, any other entry is
added and wins name look-ups. Names are matched as ``desktop_llm.core.model_names`` normalises
them; a model nobody lists gets safe defaults and ``known=False`` so the UI can say "unknown".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from desktop_llm.core.model_names import parse_model_name
from desktop_llm.core.resources import resource_path

FALLBACK_CONTEXT_WINDOW = 8192
FALLBACK_MAX_OUTPUT = 4096

_ENTRY_KEYS = {"id", "provider", "context_window", "max_output", "price", "aliases", "as_of", "accepts"}
# What a model may be sent besides text ("accepts"); a model without the field: unknown (None).
INPUTS = frozenset({"image", "pdf"})
_RATE_KEYS = {"input", "output", "cached_input"}


class CatalogError(ValueError):
    """A catalog file cannot be used; the message names the file and the offending field."""


@dataclass(frozen=True)
class Rates:
    """Dollars per million tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None  # None: cached input costs the input price


@dataclass(frozen=True)
class Price:
    """A model's list price, with an optional higher tier for long prompts."""

    base: Rates
    above_tokens: int | None = None
    above: Rates | None = None
    batch: Rates | None = None  # the provider's batch engine (about half); None: no batch price known
    batch_as_of: str | None = None

    def rates_for(self, input_tokens: int) -> Rates:
        """Return the rates that apply to a request with ``input_tokens`` of prompt."""
        if self.above is not None and self.above_tokens is not None and input_tokens > self.above_tokens:
            return self.above
        return self.base


@dataclass(frozen=True)
class ModelInfo:
    """What the catalog knows about one model (or the defaults, with ``known=False``).

    Attributes:
        id: the catalog's name for it (the name asked for when unknown).
        provider: who serves it at ``price`` ("openai", "groq", "ollama", ...), or None.
        context_window, max_output: limits in tokens.
        price: list price, or None when unknown (unknown model, other host, fine-tuned).
        known: whether an entry matched.
        as_of: when the entry's figures were checked.
        accepts: what it takes besides text ("image", "pdf"), or None when nobody says.
    """

    id: str
    provider: str | None
    context_window: int
    max_output: int
    price: Price | None
    known: bool
    as_of: str | None
    accepts: frozenset[str] | None = None


class Catalog:
    """Look models up by any spelling of their name, optionally for one provider.

    Args:
        entries: each model with its extra names, in priority order (the first listed wins a
            look-up without a provider).
        as_of: the shipped file's date.
        defaults: (context window, max output) for models nobody lists.
    """

    def __init__(
        self, entries: Iterable[tuple[ModelInfo, tuple[str, ...]]], as_of: str, defaults: tuple[int, int]
    ) -> None:
        self.as_of = as_of
        self.default_context_window, self.default_max_output = defaults
        self._index: dict[str, list[ModelInfo]] = {}
        models = []
        for info, aliases in entries:
            models.append(info)
            for name in dict.fromkeys(parse_model_name(n).tagged for n in (info.id, *aliases)):
                self._index.setdefault(name, []).append(info)
        self.models = tuple(models)

    def lookup(self, model: str, provider: str | None = None) -> ModelInfo:
        """Return what is known about ``model``; never raises.

        Args:
            model: any spelling ("openai/gpt-4o-2024-08-06", "llama3.1:8b", "ft:gpt-4o-mini:org::x").
            provider: the provider kind or openai-compatible preset serving it ("openai", "groq").
                An entry for that provider wins; an entry for another host lends its limits but
                not its price. None takes the first entry listed.
        """
        name = parse_model_name(model)
        keys = dict.fromkeys((name.tagged, name.base))  # tagged first: "gemma3:1b" before "gemma3"
        candidates = [info for key in keys for info in self._index.get(key, ())]
        if not candidates:
            return ModelInfo(
                id=model,
                provider=provider,
                context_window=self.default_context_window,
                max_output=self.default_max_output,
                price=None,
                known=False,
                as_of=None,
            )
        chosen = next((info for info in candidates if provider in (None, info.provider)), None)
        if chosen is None:
            chosen = replace(candidates[0], provider=provider, price=None)
        if name.fine_tuned:
            chosen = replace(chosen, price=None)  # fine-tuned models have their own prices
        return chosen


def _fail(source: str, where: str, problem: str) -> CatalogError:
    return CatalogError(f"{source}: {where} {problem}.")


def _positive_int(value: object, source: str, where: str) -> int:
    if value is None:
        raise _fail(source, where, "is missing")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _fail(source, where, f"must be a positive whole number, not {value!r}")
    return value


def _dollars(value: object, source: str, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0:
        raise _fail(source, where, f"must be a price of zero or more dollars, not {value!r}")
    return Decimal(value)


def _rates(data: Mapping[str, Any], source: str, where: str) -> Rates:
    for key in ("input", "output"):
        if key not in data:
            raise _fail(source, where, f"needs {key!r}")
    cached = data.get("cached_input")
    return Rates(
        input=_dollars(data["input"], source, f"{where}.input"),
        output=_dollars(data["output"], source, f"{where}.output"),
        cached_input=None if cached is None else _dollars(cached, source, f"{where}.cached_input"),
    )


def _price(data: object, source: str, where: str) -> Price:
    if not isinstance(data, dict):
        raise _fail(source, where, "must be an object")
    unknown = set(data) - _RATE_KEYS - {"above", "batch"}
    if unknown:
        raise _fail(source, where, f"has unknown fields {sorted(unknown)}")
    batch, batch_as_of = _batch_rates(data.get("batch"), source, f"{where}.batch")
    above = data.get("above")
    if above is None:
        return Price(_rates(data, source, where), batch=batch, batch_as_of=batch_as_of)
    if not isinstance(above, dict) or set(above) - _RATE_KEYS - {"tokens"}:
        raise _fail(source, f"{where}.above", "must be an object with tokens, input, output, cached_input")
    return Price(
        base=_rates(data, source, where),
        above_tokens=_positive_int(above.get("tokens"), source, f"{where}.above.tokens"),
        above=_rates(above, source, f"{where}.above"),
        batch=batch,
        batch_as_of=batch_as_of,
    )


def _batch_rates(data: object, source: str, where: str) -> tuple[Rates | None, str | None]:
    """Read a price's ``batch`` rates and the date they were checked (``as_of``)."""
    if data is None:
        return None, None
    if not isinstance(data, dict) or set(data) - _RATE_KEYS - {"as_of"}:
        raise _fail(source, where, "must be an object with input, output, cached_input and as_of")
    as_of = data.get("as_of")
    if not isinstance(as_of, str) or not as_of:
        raise _fail(source, f"{where}.as_of", "must name the month the batch prices were checked")
    return _rates(data, source, where), as_of


class _RawEntry(NamedTuple):
    """One entry's JSON object, and where it came from for error messages."""

    data: Any  # a dict once validated by ``_entry``
    source: str
    where: str


def _entry(raw: _RawEntry) -> tuple[ModelInfo, tuple[str, ...]]:
    data, source, where = raw
    if not isinstance(data, dict):
        raise _fail(source, where, "must be an object")
    unknown = set(data) - _ENTRY_KEYS
    if unknown:
        raise _fail(source, where, f"has unknown fields {sorted(unknown)}")
    for key in ("id", "provider"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _fail(source, f"{where}.{key}", "must be a non-empty string")
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise _fail(source, f"{where}.aliases", "must be a list of names")
    if not isinstance(data.get("as_of"), str):
        raise _fail(source, f"{where}.as_of", "must be a date string")
    price = data.get("price")
    accepts = data.get("accepts")
    if accepts is not None and (not isinstance(accepts, list) or not set(accepts) <= INPUTS):
        raise _fail(source, f"{where}.accepts", f"must be a list of {sorted(INPUTS)}")
    info = ModelInfo(
        id=data["id"],
        provider=data["provider"],
        context_window=_positive_int(data.get("context_window"), source, f"{where}.context_window"),
        max_output=_positive_int(data.get("max_output"), source, f"{where}.max_output"),
        price=None if price is None else _price(price, source, f"{where}.price"),
        known=True,
        as_of=data["as_of"],
        accepts=None if accepts is None else frozenset(accepts),
    )
    return info, tuple(aliases)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogError(f"{path}: cannot be read ({error.strerror or error}).") from error
    except UnicodeDecodeError as error:
        raise CatalogError(f"{path}: is not UTF-8 text ({error.reason} at byte {error.start}).") from error
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise CatalogError(
            f"{path}: is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from error
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise CatalogError(f'{path}: must be a JSON object with a "models" list.')
    if not isinstance(data.get("as_of", ""), str) or not isinstance(data.get("defaults", {}), dict):
        raise CatalogError(f'{path}: "as_of" must be a date string and "defaults" an object.')
    return data


def _raw_entries(data: Mapping[str, Any], source: str, as_of: str) -> list[_RawEntry]:
    entries = []
    seen: set[tuple[object, object]] = set()
    for i, entry in enumerate(data["models"]):
        if isinstance(entry, dict):
            key = (entry.get("id"), entry.get("provider"))
            if key in seen:
                raise _fail(source, f"models[{i}]", f"repeats id {key[0]!r} for provider {key[1]!r}")
            seen.add(key)
            entry = {"as_of": as_of, **entry}
        entries.append(_RawEntry(entry, source, f"models[{i}]"))
    return entries


def _merge(shipped: list[_RawEntry], override: list[_RawEntry]) -> list[_RawEntry]:
    """Return the override's entries first, each merged into a shipped one with its id and provider."""
    by_key = {(raw.data.get("id"), raw.data.get("provider")): raw for raw in shipped}
    merged = []
    for raw in override:
        key = (raw.data.get("id"), raw.data.get("provider")) if isinstance(raw.data, dict) else None
        base = by_key.pop(key, None) if key else None
        merged.append(raw._replace(data={**base.data, **raw.data}) if base else raw)
    return merged + list(by_key.values())


def load_catalog(override: Path | None = None) -> Catalog:
    """Return the shipped catalog, with the user's file at ``override`` merged over it if it exists.

    Raises:
        CatalogError: a file is not valid JSON or an entry is malformed (the message says where).
    """
    shipped_path = resource_path("models.json")
    shipped = _read(shipped_path)
    as_of = shipped.get("as_of", "unknown")
    entries = _raw_entries(shipped, str(shipped_path), as_of)
    defaults, defaults_source = shipped.get("defaults", {}), str(shipped_path)
    if override is not None and override.exists():
        user = _read(override)
        entries = _merge(entries, _raw_entries(user, str(override), user.get("as_of", as_of)))
        if "defaults" in user:
            defaults, defaults_source = {**defaults, **user["defaults"]}, str(override)
    window = defaults.get("context_window", FALLBACK_CONTEXT_WINDOW)
    max_output = defaults.get("max_output", FALLBACK_MAX_OUTPUT)
    return Catalog(
        [_entry(raw) for raw in entries],
        as_of=as_of,
        defaults=(
            _positive_int(window, defaults_source, "defaults.context_window"),
            _positive_int(max_output, defaults_source, "defaults.max_output"),
        ),
    )
