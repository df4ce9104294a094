"""Resolving `auto` asks whether weights are on disk; a plain "no" must stay cheap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_a_model_absent_from_the_hub_cache_is_ruled_out_without_huggingface_hub(
    tmp_path: Path,
) -> None:
    (tmp_path / "hf-home" / "hub" / "models--someone--else").mkdir(parents=True)
    code = (
        "import json, sys, generators.models as m; "
        "found = m.weights_on_disk('kavi-test/tiny-sd', kind='diffusion'); "
        "print(json.dumps([found[0], found[1], 'huggingface_hub' in sys.modules]))"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home")}
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    available, reason, imported = json.loads(out.stdout)
    assert not available and "not in the Hugging Face cache" in reason
    assert not imported
