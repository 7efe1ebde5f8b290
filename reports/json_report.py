"""report.json: the source of truth, validated against reports/report.schema.json."""

from __future__ import annotations

import json
import os
import stat
from functools import lru_cache
from importlib import resources

from hostaudit.errors import InputError
from hostaudit.reports.atomic import write_atomic
from hostaudit.schemas import inline_local_refs, json_path, nested_too_deep
from hostaudit.visible import ACTING_BEYOND_C0


class ReportInvalid(InputError):
    """A report does not match the schema; ``json_path`` says where (``$.results[3].status``)."""

    def __init__(self, message: str, *, json_path: str, where: str | None = None):
        super().__init__(f"{json_path}: {message}", where=where)
        self.json_path = json_path


@lru_cache(maxsize=1)
def schema() -> dict:
    """The published report JSON Schema (draft 2020-12)."""
    return json.loads(resources.files("hostaudit.reports").joinpath("report.schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(inline_local_refs(schema()))


def validate(report: dict, *, source: str | None = None) -> None:
    """Raise ReportInvalid (naming the JSON path, and ``source`` file if given) unless
    ``report`` matches the schema. The first error by path is reported, with a count of others.
    """
    errors = sorted(
        _validator().iter_errors(report), key=lambda e: [str(k) for k in e.absolute_path]
    )
    if errors:
        err = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        path = json_path(err.absolute_path)
        raise ReportInvalid(err.message + more, json_path=path, where=source)


def render(report: dict, *, compact: bool = False) -> str:
    """The report as stable JSON text: sorted keys, two-space indent, UTF-8 kept readable.

    Characters that act rather than show (the C1 controls, bidi overrides, zero-width and
    line separators: ``hostaudit.visible.ACTING_BEYOND_C0``) are written as JSON ``\\u`` escapes, so
    the file is safe to ``cat`` and reads back to the same strings; C0 controls JSON escapes
    itself.

    A byte of the target that was not UTF-8 reaches the report as a lone surrogate
    (``surrogateescape``: byte 0xff is U+DCFF), which no UTF-8 encoder accepts; it is written
    as the escape ``\\udcff``. That is valid JSON (RFC 8259 allows any ``\\u`` escape) and
    ``json.loads`` gives the same string back, so ``s.encode("utf-8", "surrogateescape")``
    recovers the bytes on disk. Decoders that refuse unpaired surrogates, or show U+FFFD as
    jq does, are the price of keeping those bytes recoverable.

    ``compact`` leaves out the indentation (one line; same content): Python's JSON encoder
    is several times faster without it, which a fleet of a thousand reports notices.
    """
    text = json.dumps(report, indent=None if compact else 2, sort_keys=True, ensure_ascii=False)
    # Outside JSON strings there is only ASCII, so every match sits inside a string.
    return ACTING_BEYOND_C0.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def write(report: dict, path: str | os.PathLike) -> None:
    """Render ``report`` and write it atomically to ``path``."""
    write_atomic(path, render(report))


# A gzip'ed report (a run kept by --state-dir) is read up to this size uncompressed: a
# whole-baseline report is well under 1 MiB, and a small file must not unpack to gigabytes.
MAX_UNPACKED = 256 * 1024 * 1024


def _gunzip(data: bytes, path: str) -> bytes:
    import zlib

    unpack = zlib.decompressobj(wbits=31)
    try:
        text = unpack.decompress(data, MAX_UNPACKED)
    except zlib.error as exc:
        raise InputError(f"cannot read report: not a whole gzip file ({exc})", where=path) from None
    if unpack.unconsumed_tail:
        raise InputError(f"cannot read report: unpacks to more than {MAX_UNPACKED >> 20} MiB", where=path)
    if not unpack.eof:
        raise InputError("cannot read report: truncated gzip file", where=path)
    return text


def load(path: str) -> dict:
    """Read a report.json written by hostaudit, or a run kept in a state directory (gzip);
    raise InputError (exit 2) naming the file and the line (bad JSON) or JSON path (not a
    report, or a report of another schema version).

    Only what readers of old reports use is checked (results, facts, identity): a full schema
    validation would cost more than the comparison it guards."""
    from hostaudit.reports.model import SCHEMA_VERSION

    try:
        # O_NONBLOCK and a type check: a FIFO or device named by mistake is refused, not
        # waited on or read forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError("not a regular file", where=path)
            # A report from elsewhere (a fleet host's) may be any size: never more is read
            # than a report unpacks to at most.
            data = handle.read(MAX_UNPACKED + 1)
        if data[:2] == b"\x1f\x8b":
            data = _gunzip(data, path)
        elif len(data) > MAX_UNPACKED:
            raise InputError(f"cannot read report: holds more than {MAX_UNPACKED} bytes", where=path)
        report = json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise InputError("no such report file", where=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read report: {exc}", where=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"line {exc.lineno}: not JSON: {exc.msg}", where=path) from None
    except RecursionError:
        raise InputError("not a hostaudit report (JSON nested too deeply to read)", where=path) from None
    if not isinstance(report, dict) or "schema_version" not in report:
        raise InputError("not a hostaudit report ($.schema_version missing)", where=path)
    if report["schema_version"] != SCHEMA_VERSION:
        raise InputError(f"$.schema_version: report schema version {report['schema_version']!r} "
                         f"is not the {SCHEMA_VERSION} this hostaudit reads", where=path)
    _check_shape(report, path)
    return report


def _check_shape(report: dict, path: str) -> None:
    """The fields a comparison reads, with the JSON path of the first one that is wrong."""
    def bad(json_path: str, what: str) -> InputError:
        return InputError(f"{json_path}: {what}", where=path)

    deep = nested_too_deep(report)
    if deep is not None:
        raise InputError(f"{deep}; hostaudit writes no such report", where=path)
    for key, kind in (("results", list), ("facts", dict), ("baseline", dict), ("target", dict),
                      ("tool", dict), ("timing", dict), ("coverage", dict)):
        if not isinstance(report.get(key), kind):
            raise bad(f"$.{key}", f"missing or not a{'n array' if kind is list else 'n object'}")
    # Shown with a number format (diff, gate): a string there was an internal error.
    for where, value in (("$.score", report.get("score")), ("$.coverage.percent", report["coverage"].get("percent"))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise bad(where, "not a number")
    for i, result in enumerate(report["results"]):
        if not isinstance(result, dict):
            raise bad(f"$.results[{i}]", "not an object")
        for key in ("id", "status", "severity"):
            if not isinstance(result.get(key), str):
                raise bad(f"$.results[{i}].{key}", "missing or not a string")
        # Read when verdicts are compared and shown (diff, gate, plan): optional, but typed.
        for key in ("message", "title", "expected"):
            if key in result and not isinstance(result[key], str):
                raise bad(f"$.results[{i}].{key}", "not a string")
        evidence = result.get("evidence", [])
        if not isinstance(evidence, list):
            raise bad(f"$.results[{i}].evidence", "not an array")
        for j, item in enumerate(evidence):
            if not isinstance(item, dict):
                raise bad(f"$.results[{i}].evidence[{j}]", "not an object")
            for key in ("where", "text"):
                if key in item and not isinstance(item[key], str):
                    raise bad(f"$.results[{i}].evidence[{j}].{key}", "not a string")
