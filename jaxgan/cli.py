"""Shared helpers of the `bin/` scripts: config overrides and one-line errors."""

from __future__ import annotations

import functools
import signal
import sys
import warnings
from pathlib import Path

from absl import flags, logging
from ml_collections import config_flags

from jaxgan import distributed
from jaxgan.signals import Stopped
from jaxgan.variant_files import CONFIGS_DIR, load_config_file, variant_names

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
            distributed.leave(f"{distributed.who()}{e}", e.status)
        except KeyboardInterrupt:
            distributed.leave(f"{distributed.who()}interrupted", 128 + signal.SIGINT)
        except EXPECTED_ERRORS as e:
            message = e.args[0] if isinstance(e, KeyError) and e.args else e
            distributed.leave(f"error: {distributed.who()}{message}", 1)
        except Exception as e:
            if distributed.count() == 1:
                raise
            # one process of many (a collective that lost its peer, say): which one, and what
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            distributed.exit_now(f"{distributed.who()}{first[:300]}")

    return wrapped


CONFIG_HELP = ("The run's config file (configs/<variant>.py, or one of your own); "
               "--config.<field>=value overrides any field.")


def config_argv(argv: list[str]) -> list[str]:
    """`argv` with the config file named first, as ml_collections reads it: `--variant=NAME`
    (vanilla when neither it nor `--config` is given) becomes `--config=configs/NAME.py`.

    Only that spelling is rewritten; the `--config.<field>` overrides are ml_collections' own.
    An unknown variant, a missing file or both flags given exit with one `error:` line.
    """
    args, named = list(argv[1:]), []
    for i, arg in enumerate(args):
        if arg == "--":
            break
        flag, eq, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and flag in ("variant", "config"):
            named.append((i, flag, value if eq else None))
    if not named:
        return [argv[0], f"--config={CONFIGS_DIR / 'vanilla.py'}", *args]
    if len(named) > 1:
        _exit(" and ".join(f"--{flag}" for _, flag, _ in named) + ": give the config once")
    [(i, flag, value)] = named
    taken = [i] if value is not None else [i, i + 1]
    if value is None:
        value = args[i + 1] if i + 1 < len(args) else ""
    path = CONFIGS_DIR / f"{value}.py" if flag == "variant" else Path(value)
    if flag == "variant" and not path.is_file():
        _exit(f"unknown variant {value!r}; valid: {', '.join(variant_names())}")
    if not path.is_file():
        _exit(f"--config={value}: no such config file")
    return [argv[0], f"--config={path}", *(a for j, a in enumerate(args) if j not in taken)]


def _exit(message: str):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def define_config(argv: list[str], flag_values=flags.FLAGS) -> flags.FlagHolder:
    """`--config`: a config file, `--config.<field>=value` overriding its fields; for the argv
    that `config_argv` gives."""
    return config_flags.DEFINE_config_file("config", None, CONFIG_HELP, flag_values=flag_values,
                                           sys_argv=argv)


def parse_flags(argv: list[str], flag_values=flags.FLAGS) -> list[str]:
    """absl's flag parsing of `config_argv(argv)`; an unknown field or a bad value is one
    `error:` line and exit status 1."""
    try:
        return flag_values(argv)
    except (flags.Error, ValueError) as e:
        _exit(e)
    except (AttributeError, KeyError):
        _exit(_unknown_field(argv))


def _unknown_field(argv: list[str]) -> str:
    """The first `--config.<field>` of `argv` that its config lacks, with the fields it has."""
    config = load_config_file(argv[1][len("--config="):])
    for arg in argv[2:]:
        name = arg.lstrip("-")
        if not name.startswith("config."):
            continue
        node, path = config, []
        for part in name[len("config."):].partition("=")[0].split("."):
            if not hasattr(node, "keys") or part not in node:
                where = ".".join(["config", *path])
                fields = ", ".join(sorted(node.keys())) if hasattr(node, "keys") else "none"
                return f"{arg}: no such config field; fields of {where}: {fields}"
            node, path = node[part], [*path, part]
    return "a --config.<field> flag names no config field"


def override(config, named: dict) -> None:
    """Sets the (dotted) fields of the flags that were given (None means not given)."""
    for name, value in named.items():
        if value is not None:
            *parents, leaf = name.split(".")
            node = config
            for parent in parents:
                node = node[parent]
            node[leaf] = value
