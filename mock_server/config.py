"""The config file: `flexprice-mock --config mock.toml`, or `[tool.flexprice-mock]` in a pyproject.

A file's keys are the long option names of the command (`port = 8081`, `log-level = "info"`,
`api-key = ["sk_a", "sk_b"]`, `no-admin = true`), read off the click command's own parameters, so
every option, including one added later, is covered without a list kept here. They become
click's `default_map`: a flag or an environment variable on the command line still wins. A table
named for a subcommand (`[routes]`, or `[tool.flexprice-mock.lint]`) configures that command;
a subcommand also takes the top level's values for the options it shares, flags excepted (`strict`
means one thing to the server and another to `lint`). Unknown keys are an error naming them.
Without `--config`, the working directory's `pyproject.toml` is read if it has the table.
Relative paths are relative to the working directory, as on the command line.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
TABLE = ("tool", "flexprice-mock")


class ConfigError(ValueError):
    """A config file that cannot be read or names what the command does not have."""


def read(path: Path) -> dict | None:
    """The settings in `path`: a pyproject's `[tool.flexprice-mock]` (None if it has none), or
    the whole of any other TOML file."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.name != PYPROJECT:
        return document
    table = document.get(TABLE[0], {}).get(TABLE[1])
    return table if isinstance(table, dict) else None


def options(command: click.Command) -> dict[str, click.Parameter]:
    """The command's options by each long name without dashes (`log-level`; `accept-key` and its
    older name `api-key`), `--config`, `--version` and `--help` left out."""
    found = {}
    for param in command.params:
        if isinstance(param, click.Option) and param.expose_value:
            found |= {name.lstrip("-"): param for name in param.opts if name.startswith("--")}
    return found


def default_map(command: click.Group, table: dict, source: Path) -> dict:
    """click's `default_map` for `command` and its subcommands from a config table."""
    own = options(command)
    subcommands = getattr(command, "commands", {})
    settings = {key: value for key, value in table.items() if not (key in subcommands and isinstance(value, dict))}
    mapped = _mapped(own, settings, source, "")
    for name, sub in subcommands.items():
        theirs = options(sub)
        shared = {key: value for key, value in settings.items()
                  if key in theirs and not theirs[key].is_flag and not own[key].is_flag}
        mapped[name] = {**_mapped(theirs, shared, source, name), **_mapped(theirs, table.get(name, {}), source, name)}
    return mapped


def _mapped(known: dict[str, click.Parameter], table: dict, source: Path, section: str) -> dict:
    unknown = sorted(key for key in table if key.replace("_", "-") not in known)
    if unknown:
        where = f"[{section}] in " if section else ""
        names = sorted({param.opts[0].lstrip("-") for param in known.values()})
        raise ConfigError(f"{where}{source}: unknown key(s) {', '.join(unknown)}; the options are: {', '.join(names)}")
    mapped = {}
    for key, value in table.items():
        param = known[key.replace("_", "-")]
        mapped[param.name] = [value] if param.multiple and not isinstance(value, list) else value
    return mapped


def discovered() -> Path | None:
    """The working directory's pyproject, if it configures the mock."""
    path = Path(PYPROJECT)
    return path if path.is_file() and read(path) is not None else None
