"""One family of commands: click, one help style, `--version`, one error form, one naming of
environment variables.

Every command is a `Program` (a click group): `-h`/`--help` with each default and variable shown,
`--version`, a usage error (a bad option, a spec or config that cannot be used) as one
`Error: ...` line on stderr and exit 2, any other refusal (a port taken, a store unreachable) one
`Error:` line and exit 1, an interruption exit 130, and a bug of the program itself one line
saying so, its traceback and exit 3. A command returns its own exit code (0 when it returns
nothing).

Every option can also come from the environment: `<PREFIX>_<OPTION>` (`--admin-token` of
`flexprice-mock` is `FLEXPRICE_MOCK_ADMIN_TOKEN`; `--api-key` of `flexprice-contract` is
`FLEXPRICE_CONTRACT_API_KEY`), one variable per long name (an alias has its own), then any older
names the option declares. A subcommand's option shares the main command's variable when the main
command has the same option and neither is a flag (the gate's `parity --base-url` reads
`FLEXPRICE_CONTRACT_BASE_URL`, as `run` does); an option of its own, or a flag that means
something else there, is `<PREFIX>_<SUBCOMMAND>_<OPTION>` (`lint --strict`:
`FLEXPRICE_MOCK_LINT_STRICT`). The same rule says which values a config file shares
(`mock_server/config.py`). The command line wins over the environment.
"""
from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BROKEN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_SEED = 0  # ids, fake data and the gate's generated values: the same seed replays the same run
DISTRIBUTION = "flexprice-mock"
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 110}
NOT_VARIABLES = ("help", "version")


class UsageProblem(click.UsageError):
    """A command line, or a file it names, the program cannot work with: `Error: ...`, exit 2."""


class Option(click.Option):
    """An option of the family: its error names the variable only when the value came from one
    (click names every variable the option reads, even for a value typed on the command line)."""

    def get_error_hint(self, ctx: click.Context | None) -> str:
        hint = " / ".join(f"'{name}'" for name in self.opts)
        source = variable_of(ctx, self.name) if ctx is not None and self.name else None
        return f"{hint} (from ${source})" if source else hint


option = functools.partial(click.option, cls=Option)


def installed_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class Program(click.Group):
    """A program of the family: `prefix` names its variables; `main_command`, when given, is the
    subcommand meant when the command line names none (the gate's `run`); without it the group's
    own callback is the main command (the mock's server)."""

    def __init__(self, *args: Any, prefix: str, noun: str, main_command: str | None = None, **kwargs: Any) -> None:
        kwargs["context_settings"] = {**CONTEXT, **kwargs.get("context_settings", {})}
        super().__init__(*args, **kwargs)
        self.prefix, self.noun, self.main_command = prefix, noun, main_command
        self.named = False
        click.version_option(installed_version(), "--version", prog_name=self.name, message="%(prog)s %(version)s")(self)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """With a main command, anything but a subcommand's name, `--help` or `--version` first
        is the main command's."""
        if self.main_command and (not args or (args[0] not in self.commands
                                                and args[0] not in (*ctx.help_option_names, "--version"))):
            args = [self.main_command, *args]
        return super().parse_args(ctx, args)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            self.name_variables()
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        sys.exit(self.execute(args, **extra))

    def execute(self, args: list[str] | None = None, **extra: Any) -> int:
        """Run the command line (`sys.argv` without one); the exit code, every error already said."""
        self.name_variables()
        try:
            result = super().main(args, self.name, standalone_mode=False, **extra)
        except click.ClickException as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            return error.exit_code
        except (click.Abort, KeyboardInterrupt):
            click.echo(f"{self.name}: interrupted", err=True)
            return EXIT_INTERRUPTED
        except Exception:  # noqa: BLE001 - the one place a bug becomes exit 3 and a report, not a bare crash
            click.echo(f"Error: the {self.noun} itself broke (exit {EXIT_BROKEN}); please report this:", err=True)
            traceback.print_exc()
            return EXIT_BROKEN
        return result if isinstance(result, int) else EXIT_OK

    def name_variables(self) -> None:
        """Give every option its variables (see the module's docstring), once all are declared."""
        if self.named:
            return
        self.named = True
        main = self.commands[self.main_command] if self.main_command else self
        shared = {name: option for option in options(main) for name in long_names(option)}
        for command in (self, *self.commands.values()):
            own = command is self or command is main
            for option in options(command):
                variables = []
                for name in long_names(option):
                    twin = shared.get(name)
                    sharing = own or (twin is not None and not twin.is_flag and not option.is_flag)
                    scope = self.prefix if sharing else f"{self.prefix}_{variable(command.name)}"
                    variables.append(f"{scope}_{variable(name)}")
                declared = [option.envvar] if isinstance(option.envvar, str) else list(option.envvar or ())
                option.envvar = [*variables, *(name for name in declared if name not in variables)]
                option.show_envvar = True


def options(command: click.Command) -> Iterator[click.Option]:
    return (param for param in command.params if isinstance(param, click.Option) and param.name not in NOT_VARIABLES)


def long_names(option: click.Option) -> list[str]:
    return [name.lstrip("-") for name in option.opts if name.startswith("--")]


def variable(name: str) -> str:
    return name.replace("-", "_").upper()


def variable_of(ctx: click.Context, name: str) -> str | None:
    """The environment variable an option's value came from, or None (the command line, a default)."""
    if ctx.get_parameter_source(name) is not ParameterSource.ENVIRONMENT:
        return None
    param = next(param for param in ctx.command.params if param.name == name)
    variables = [param.envvar] if isinstance(param.envvar, str) else param.envvar
    return next((candidate for candidate in variables if os.environ.get(candidate)), None)


class SpecSource(click.Path):
    """A spec file that exists, or an http(s) URL, left for the command to download (both take
    `--spec` this way; `flexprice_spec.remote` fetches and caches)."""

    name = "spec"

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False)

    def convert(self, value, param, ctx):
        if isinstance(value, str) and urlsplit(value).scheme.lower() in ("http", "https"):
            return value
        return super().convert(value, param, ctx)
