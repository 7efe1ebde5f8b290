"""Fact bundles: what ``hostaudit collect`` gathers on a target, and ``evaluate`` reads back.

A bundle is one JSON document (reports/bundle.schema.json) holding exactly the facts that a
baseline's selected checks need, already redacted, with the target's description and the
collector's version. Evaluating it needs no access to the host, so a fleet is collected on
each target and judged centrally. ``hostaudit scan`` is the same two steps in one process
(``hostaudit.scan.scan``), so a bundle evaluated later gives the report scan would have.

Facts are read only by the hostaudit version that collected them: probes and checks change
together, and no fact carries a schema of its own, so a bundle from another version is
refused (exit 2) rather than judged by checks that may read its facts differently.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import platform
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources

from hostaudit import __version__
from hostaudit.errors import InputError
from hostaudit.facts import Facts, collect
from hostaudit.redact import redact
from hostaudit.schemas import json_path, nested_too_deep

FORMAT = "hostaudit-facts"
BUNDLE_VERSION = 2
# A bundle is a few hundred KiB; anything far larger is not one of ours.
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def collector_identity() -> dict:
    """The collector as a bundle names it: tool version and the Python that ran it."""
    return {"name": "hostaudit", "version": __version__, "python": platform.python_version()}


def collect_bundle(target, audit_plan, *, baseline, selection: dict,
                   on_fact: Callable[[str], None] | None = None,
                   on_crash: Callable[[str, str], None] | None = None) -> dict:
    """Collect the facts ``audit_plan`` needs from ``target`` (a ``scan.Target``) into a bundle.

    Facts pass the one redaction layer here, before they leave the collector, and are made
    plain JSON data (a tuple a probe returned is a list, as it will be when read back), so
    evaluating the bundle in memory and from a file gives the same results. A crashed
    probe's traceback stays out of the bundle: ``on_crash("probe NAME", traceback)`` gets it.
    """
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    host = target.host
    facts = collect(host, audit_plan.facts, mode=host.mode, modes=audit_plan.modes,
                    on_done=on_fact, requests=audit_plan.requests)
    if on_crash is not None:
        for name, text in facts.tracebacks().items():
            on_crash(f"probe {name}", text)
    values = json.loads(json.dumps(redact(facts.serialisable())))
    return {
        "format": FORMAT,
        "bundle_version": BUNDLE_VERSION,
        "collector": collector_identity(),
        "target": redact(dict(target.description)),
        "mode": host.mode,
        "modes": sorted(audit_plan.modes),
        "baseline": {"name": baseline.name, "digest": baseline.digest},
        "selection": {"only": list(selection.get("only", ())), "skip": list(selection.get("skip", ()))},
        "timing": {
            "started": started_at.isoformat(timespec="seconds"),
            "collect_s": round(time.perf_counter() - started, 4),
            "probes_ms": dict(sorted(facts.timings.items())),
        },
        "facts": values,
    }


def facts_of(bundle: dict) -> Facts:
    """The bundle's facts as checks read them: ``{"error": reason}`` becomes a FactError."""
    return Facts.from_serialisable(bundle["facts"], mode=bundle["mode"], modes=bundle["modes"])


def is_error(value) -> bool:
    """Whether a fact value is the ``{"error": reason}`` of a fact that could not be collected."""
    return isinstance(value, dict) and len(value) == 1 and "error" in value


def render(bundle: dict) -> str:
    """The bundle as JSON text. Lone surrogates (undecodable bytes of the target) are kept as
    ``\\udcXX`` escapes, as report.json keeps them. Keys keep the probes' order (not sorted):
    some checks list findings in the order of a fact's keys, and a bundle read back must give
    the findings ``scan`` gave from memory."""
    return json.dumps(bundle, separators=(",", ":")) + "\n"


@lru_cache(maxsize=1)
def schema() -> dict:
    """The published bundle JSON Schema (draft 2020-12)."""
    text = resources.files("hostaudit.reports").joinpath("bundle.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


@lru_cache(maxsize=1)
def _target_validator():
    """The report's own schema of ``target``: a bundle's target becomes the report's, so a
    field the report may not carry (an invocation of objects) is the bundle's fault, found
    here, not the report's at the end of the evaluation."""
    import jsonschema

    from hostaudit.reports import json_report

    report = json_report.schema()
    target = dict(report["properties"]["target"])
    # build_report adds "kind", schema 1's alias of the mode; a bundle says only "mode".
    target["required"] = [key for key in target["required"] if key != "kind"]
    return jsonschema.Draft202012Validator({"$defs": report["$defs"], **target})


def check(bundle, where: str) -> dict:
    """``bundle`` if it is one this version evaluates; else InputError naming ``where`` and why.

    The version is checked before the schema, so a bundle of another version is refused by
    version (the message says which collector to use), not by whatever field moved.
    """
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise InputError(f"not a hostaudit fact bundle ($.format is not {FORMAT!r})", where=where)
    version = bundle.get("bundle_version")
    collector = bundle.get("collector")
    collector = collector if isinstance(collector, dict) else {}
    by = collector.get("version")
    if version != BUNDLE_VERSION or by != __version__:
        raise InputError(
            f"bundle format {version!r} from hostaudit {by!r}: this is hostaudit {__version__} "
            f"(bundle format {BUNDLE_VERSION}), which evaluates only facts its own version "
            f"collected; collect again with hostaudit {__version__} on the target",
            where=where)
    deep = nested_too_deep(bundle)
    if deep is not None:
        raise InputError(f"{deep}; no probe makes such a fact", where=where)
    errors = sorted(_validator().iter_errors(bundle), key=lambda e: [str(k) for k in e.absolute_path])
    if not errors:
        errors = sorted(_target_validator().iter_errors(bundle["target"]),
                        key=lambda e: [str(k) for k in e.absolute_path])
        for err in errors:
            err.path.appendleft("target")
    if errors:
        err = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{json_path(err.absolute_path)}: {err.message}{more}", where=where)
    import hostaudit.probes  # noqa: F401  (registers the probes, whose names are the facts)
    from hostaudit.registry import PROBES

    unknown = sorted(name for name in bundle["facts"] if name not in PROBES)
    if unknown:
        raise InputError(f"$.facts.{unknown[0]}: no probe of hostaudit {__version__} produces this fact",
                         where=where)
    return bundle


def load(path: str) -> dict:
    """Read and check a bundle file (plain or gzip JSON); InputError (exit 2) names the file and
    the line, version or JSON path that is wrong."""
    try:
        # O_NONBLOCK and a type check: a FIFO or device is refused, never waited on.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError("not a regular file", where=path)
            data = handle.read(MAX_BUNDLE_BYTES + 1)
    except FileNotFoundError:
        raise InputError("no such bundle file", where=path) from None
    except OSError as exc:
        raise InputError(f"cannot read bundle: {exc.strerror or exc}", where=path) from None
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(MAX_BUNDLE_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise InputError(f"truncated or corrupt gzip: {exc}", where=path) from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise InputError(f"larger than {MAX_BUNDLE_BYTES} bytes: not a fact bundle", where=path)
    try:
        bundle = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 at byte {exc.start}", where=path) from None
    except json.JSONDecodeError as exc:
        hint = " (truncated?)" if exc.pos >= len(data.rstrip()) else ""
        raise InputError(f"line {exc.lineno}: not JSON: {exc.msg}{hint}", where=path) from None
    except RecursionError:
        raise InputError("not a fact bundle (JSON nested too deeply to read)", where=path) from None
    return check(bundle, path)


def write(bundle: dict, path: str) -> None:
    """Write ``bundle`` atomically, 0600: its facts describe the host's weak points."""
    from hostaudit.reports.atomic import write_atomic

    text = render(bundle)
    if path.endswith(".gz"):
        write_atomic(path, gzip.compress(text.encode("utf-8", "surrogatepass"), mtime=0), mode=0o600)
    else:
        write_atomic(path, text.encode("utf-8", "surrogatepass"), mode=0o600)
