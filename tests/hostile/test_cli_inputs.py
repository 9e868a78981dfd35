"""Issue 29 items 4 and 5: every command that reads a file, against the same hostile file set,
answers one line `partner-review: <command>: <path>: <what is wrong>` on stderr with exit 2,
and no traceback. Commands run in process through `cli.main.run` (the entry point's own code);
a few run as the installed command to show the same from the outside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from partner_review.cli.main import run
from tests.conftest import EXAMPLES, ROOT

LIMIT = 16384  # PARTNER_REVIEW_CLI_MAX_FILE_BYTES in these tests


def hostile(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, words the line holds)."""

    def write(name: str, content: bytes) -> Path:
        path = tmp / name
        path.write_bytes(content)
        return path

    fifo = tmp / "fifo.json"
    os.mkfifo(fifo)
    return {
        "missing": (tmp / "gone.json", "no such file"),
        "directory": (tmp, "is a directory"),
        "device": (Path("/dev/zero"), "is a device or socket"),
        "fifo without writer": (fifo, "is empty"),
        "empty": (write("empty.json", b""), "is empty"),
        "blank": (write("blank.json", b" \n\t\n"), "is empty"),
        "not utf-8": (write("latin1.json", '{"app": "café"}'.encode("latin-1")), "not UTF-8"),
        "not json": (write("broken.json", b"{not json"), "not valid JSON"),
        "list": (write("list.json", b"[1, 2]"), "list"),
        "number": (write("number.json", b"42"), "number"),
        "null": (write("null.json", b"null"), "null"),
        "deep": (write("deep.json", b"[" * 3000 + b"]" * 3000), "nested too deeply"),
        "huge integer": (write("bigint.json", b'{"version": ' + b"7" * 5000 + b"}"), "4300 digits"),
        "oversized": (write("big.json", b'{"x": "' + b"a" * LIMIT + b'"}'), f"larger than {LIMIT} bytes"),
    }


# Words per command where the JSON-lines reader says it its own way (one record per line).
ACTIVITY_WORDS = {
    "list": "a JSON object",
    "number": "a JSON object",
    "null": "a JSON object",
    "oversized": "longer than 8192 bytes",
    "empty": "holds no activity record",
    "blank": "holds no activity record",
    "fifo without writer": "holds no activity record",
    "not utf-8": "not UTF-8",
    "not json": "not valid JSON",
}


@pytest.fixture
def limited(env, monkeypatch):
    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_CLI_MAX_FILE_BYTES", str(LIMIT))
    monkeypatch.setenv("PARTNER_REVIEW_CLI_MAX_LINE_BYTES", "8192")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def one_line(capsys, status: int, expected_status: int, command: str, *words: str) -> str:
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert status == expected_status, out.err
    assert len(lines) == 1, out.err
    assert lines[0].startswith(f"partner-review: {command}: "), lines[0]
    assert all(w in lines[0] for w in words), (words, lines[0])
    assert "Traceback" not in out.err + out.out
    return lines[0]


NAMES = [
    "missing", "directory", "device", "fifo without writer", "empty", "blank", "not utf-8", "not json",
    "list", "number", "null", "deep", "huge integer", "oversized",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("command", ["check", "check-access", "load-test"])
def test_a_json_reading_command_answers_one_line_and_exit_2(limited, tmp_path, capsys, command, name):
    path, words = hostile(tmp_path)[name]
    status = run([command, str(path)])
    one_line(capsys, status, 2, command, str(path), words)


@pytest.mark.parametrize("name", NAMES)
def test_activity_import_answers_one_line_and_exit_2(limited, engine_store, tmp_path, capsys, name):
    path, words = hostile(tmp_path)[name]
    status = run(["activity", "import", str(path)])
    one_line(capsys, status, 2, "activity import", str(path), ACTIVITY_WORDS.get(name, words))


@pytest.mark.parametrize(
    "content,words",
    [
        ("app,workspace_id,day,events_delivered,colour\nacme-analytics,ws,2026-11-20,1,red\n", "colour: unknown field"),
        ("app,workspace_id,day,events_delivered\nacme-analytics,ws,2026-11-20,1,2,3\n", "more values than the header"),
        ("app,workspace_id,day,events_delivered\nacme-analytics," + "w" * 200_000 + ",2026-11-20,1\n", "longer than"),
        ("app,workspace_id,day,events_delivered\n", "holds no activity record"),
        ('{"app": "acme-analytics", "workspace_id": "w", "day": "2026-11-20", "events_delivered": ' + "9" * 5000 + "}\n",
         "4300 digits"),
    ],
    ids=["unknown column", "extra values", "200000-character field", "header only", "huge integer"],
)  # fmt: skip
def test_activity_import_rows(limited, engine_store, tmp_path, capsys, monkeypatch, content, words):
    monkeypatch.setenv("PARTNER_REVIEW_CLI_MAX_LINE_BYTES", str(64 * 1024))
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    path = tmp_path / ("activity.jsonl" if content.startswith("{") else "activity.csv")
    path.write_text(content)
    one_line(capsys, run(["activity", "import", str(path)]), 2, "activity import", words)


def test_a_csv_field_over_the_csv_modules_limit_is_one_line():
    """Below the line bound, the csv module's own field limit (131,072) is a BadActivity too."""
    from partner_review.tasks.graduation.adoption import BadActivity, read_file

    text = "app,workspace_id,day,events_delivered\nacme-analytics," + "w" * 200_000 + ",2026-11-20,1\n"
    with pytest.raises(BadActivity, match="line 2: not a CSV row"):
        read_file(text, name="a.csv")


@pytest.mark.parametrize("name", ["missing", "directory", "device", "fifo without writer"])
def test_lint_answers_one_line_for_a_file_it_cannot_read(limited, tmp_path, capsys, name):
    path, words = hostile(tmp_path)[name]
    if name == "fifo without writer":  # an empty page is a finding for lint, not an error
        assert run(["lint", str(path)]) == 1
        return
    one_line(capsys, run(["lint", str(path)]), 2, "lint", str(path), words)


@pytest.mark.parametrize(
    "tokens,words",
    [
        (["sample-partner", "--port", "99999"], "--port 99999 is not a TCP port"),
        (["sample-partner", "--port", "0"], "not a TCP port"),
        (["sample-partner", "--port", "abc"], "--port"),
        (["sample-partner", "--behaviour", "nope"], "unknown behaviour 'nope'"),
        (["serve", "--port", "70000"], "not a TCP port"),
        (["check"], "requires an argument"),
        (["check", str(EXAMPLES / "submission.json"), "--format", "yaml"], "--format"),
        (["decide", "s-1"], "exactly one of --approve"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(env, capsys, tokens, words):
    one_line(capsys, run(tokens), 2, tokens[0], words)


def test_load_test_refuses_a_loopback_target_with_exit_2(env, capsys):
    status = run(["load-test", str(EXAMPLES / "submission.json"), "--rate", "1", "--duration", "1"])
    one_line(capsys, status, 2, "load-test", "load test refused")


def test_sample_partner_help_and_refusal_name_the_same_behaviours(capsys):
    from partner_review.partners import BEHAVIOURS

    run(["sample-partner", "--behaviour", "nope"])
    refusal = capsys.readouterr().err
    assert run(["sample-partner", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    for name in BEHAVIOURS:
        assert name in refusal and name in shown.replace("│", " ").replace(" ", ""), name


@pytest.mark.parametrize(
    "args,words",
    [
        (["check", "/dev/zero"], "is a device or socket"),
        (["check-access", "DEEP"], "nested too deeply"),
        (["sample-partner", "--port", "99999"], "not a TCP port"),
    ],
)
def test_the_installed_command_prints_the_same_single_line(tmp_path, args, words):
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    args = [str(deep) if a == "DEEP" else a for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"partner-review: {args[0]}: ") and words in line and "Traceback" not in done.stdout
