"""Shared helpers of the `bin/` scripts: config overrides and one-line errors."""

from __future__ import annotations

import functools
import signal
import sys
import warnings

from absl import flags, logging
from ml_collections import config_flags

from jaxgan.config import load_variant_config
from jaxgan.signals import Stopped

# OSError: a --workdir or --out that is a file, a folder without write permission, a full disk
EXPECTED_ERRORS = (ValueError, OSError, FloatingPointError, KeyError, TypeError)


def one_line_warnings() -> None:
    """Python warnings print as `warning: <message>`, one line, without the source line."""
    warnings.formatwarning = lambda message, *args, **kwargs: f"warning: {message}\n"


def fail(main):
    """Runs `main`, turning expected errors into one `error: ...` line and exit status 1, and a
    stop on a signal into its one line and the signal's conventional status (130, 143).

    Library INFO logs (Orbax writes many) are hidden unless `--verbosity` is given.
    """

    @functools.wraps(main)
    def wrapped(argv):
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)
        one_line_warnings()
        if len(argv) > 1:
            extra = " ".join(argv[1:])
            print(f"error: unexpected arguments {extra} (flags are --name=value)", file=sys.stderr)
            sys.exit(1)
        try:
            return main(argv)
        except Stopped as e:  # a clean stop on a signal, checkpoint saved
            print(e, file=sys.stderr)
            sys.exit(e.status)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(128 + signal.SIGINT)
        except EXPECTED_ERRORS as e:
            message = e.args[0] if isinstance(e, KeyError) and e.args else e
            print(f"error: {message}", file=sys.stderr)
            sys.exit(1)

    return wrapped


def define_config_flag(config, argv: list[str]) -> None:
    """`--config` with `--config.<field>=value` overrides. ml_collections reads those overrides
    from `argv` here, at definition; an unknown field is one line naming the valid ones, not a
    traceback."""
    try:
        config_flags.DEFINE_config_dict("config", config, "The variant's config; --config.F=value.")
    except (AttributeError, KeyError):
        for arg in argv[1:]:
            name = arg.lstrip("-")
            if not name.startswith("config."):
                continue
            node, path = config, []
            for part in name[len("config.") :].partition("=")[0].split("."):
                if not hasattr(node, "keys") or part not in node:
                    where = f"config.{'.'.join(path)}" if path else "config"
                    fields = ", ".join(sorted(node.keys())) if hasattr(node, "keys") else "none"
                    print(f"error: {arg}: no such config field; fields of {where}: {fields}",
                          file=sys.stderr)
                    sys.exit(1)
                node, path = node[part], [*path, part]
        print("error: a --config.<field> flag names no config field", file=sys.stderr)
        sys.exit(1)


def variant_from_argv(argv: list[str]):
    """(name, config) of the `--variant` in `argv` (default vanilla), read before flags are parsed
    so that `--config.<field>=` overrides are typed by that variant's config. Exits with one line
    listing the valid names when the variant is unknown."""
    name = "vanilla"
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        flag, eq, value = arg.lstrip("-").partition("=")
        if not arg.startswith("-") or flag != "variant":
            continue
        if eq:
            name = value
        elif i + 1 < len(argv):
            name = argv[i + 1]
    try:
        return name, load_variant_config(name)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


def override(config, named: dict) -> None:
    """Sets the (dotted) fields of the flags that were given (None means not given)."""
    for name, value in named.items():
        if value is not None:
            *parents, leaf = name.split(".")
            node = config
            for parent in parents:
                node = node[parent]
            node[leaf] = value
