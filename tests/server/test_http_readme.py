"""The README's curl examples (a quote, a tracking lookup, a rate-table comparison) run as written
against a server with keys, its HTTP side and the stand-in Japan Post; each prints its JSON answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kokokara.shipping.server import bootstrap
from standin.japan_post import StandInJapanPost
from tests.conftest import REPO, test_settings
from tests.security_support import make_keys


def readme_examples() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## JSON over HTTP and the console", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", section, re.S) if "curl" in b]
    assert len(blocks) == 1, "the section has one block of curl examples"
    return blocks[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_curl_examples_answer(tmp_path: Path) -> None:
    script = readme_examples()
    assert script.count("curl ") == 3
    keys = make_keys(tmp_path / "keys.json")
    with StandInJapanPost() as standin:
        service = bootstrap.start(
            test_settings(
                api_keys_file=tmp_path / "keys.json", database_path=tmp_path / "labels.sqlite3", http_addr="127.0.0.1:0", tracking_base_url=standin.url
            )
        )
        try:
            script = script.replace("127.0.0.1:8080", f"127.0.0.1:{service.http_port}")
            env = {**os.environ, "SHIPPING_API_KEY": keys["admin"]}
            run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, env=env, timeout=60)
        finally:
            service.stop(0)
    assert run.returncode == 0, run.stdout + run.stderr
    answers, rest, decoder = [], run.stdout.strip(), json.JSONDecoder()
    while rest:
        answer, end = decoder.raw_decode(rest)
        answers.append(answer)
        rest = rest[end:].strip()
    quote, tracking, comparison = answers
    assert quote["options"] and quote["options"][0]["totalPrice"]["currencyCode"] == "JPY"
    assert tracking["trackingNumber"] == "EN123456785JP" and tracking["events"]
    assert {r["weightGrams"] for r in comparison["rates"]} == {"500", "1000", "2000"}  # int64: strings in JSON
