"""The model card: rendered from model_card.md, metadata that parses, every section filled."""

from __future__ import annotations

import pytest

from training.errors import UserError
from training.hub.model_card import REQUIRED_SECTIONS, TAGS, validate_card


def test_trained_model_card_validates(chain):
    data = validate_card(chain["model"] / "README.md")
    assert data["language"] == "ar" and data["license"] == "apache-2.0"
    assert data["library_name"] == "transformers" and data["pipeline_tag"] == "text-classification"
    assert set(TAGS) <= set(data["tags"]) and data["widget"]
    results = data["model-index"][0]["results"][0]
    names = {m["name"] for m in results["metrics"]}
    assert names == {"F1 (attack)", "F1 (casualty)", "F1 (withdrawal_talks)", "macro F1"}


def test_card_body_has_every_section_and_usage_code(chain):
    text = (chain["model"] / "README.md").read_text("utf-8")
    for section in REQUIRED_SECTIONS:
        assert f"## {section}" in text
    assert "ArabertPreprocessor(model_name=\"bert-base-arabertv02\")" in text
    assert "thresholds = {" in text and "EventClassifier.from_pretrained" in text
    assert "{{" not in text
    # the tiny model has no base model to cite; a card of an AraBERT fine-tune cites AraBERT
    assert "no base model to cite" in text and "Antoun" not in text
    assert str(chain["model"]) in text  # usage code points at the folder until it is published


def test_validation_catches_placeholders_and_empty_sections(chain, tmp_path):
    good = (chain["model"] / "README.md").read_text("utf-8")
    bad = tmp_path / "README.md"
    bad.write_text(good.replace("## Citation", "{{ citation }}\n## Citation"), encoding="utf-8")
    with pytest.raises(UserError, match="placeholders"):
        validate_card(bad)
    start = good.index("## Training data")
    end = good.index("## Evaluation")
    bad.write_text(good[:start] + "## Training data\n\n" + good[end:], encoding="utf-8")
    with pytest.raises(UserError, match="'Training data' is missing or empty"):
        validate_card(bad)


@pytest.mark.slow
def test_the_wheel_carries_the_card_template(tmp_path):
    """A plain (non-editable) install must find the template: it ships as package data."""
    import subprocess
    import sys
    import zipfile

    from conftest import ROOT

    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    with zipfile.ZipFile(next(tmp_path.glob("*.whl"))) as wheel:
        shipped = wheel.read("training/resources/model_card.md")
    assert shipped == (ROOT / "model_card.md").read_bytes()


def test_the_base_model_is_named_on_the_hub_only_when_it_is_a_hub_id(tmp_path):
    from training.hub.model_card import _base_model

    assert _base_model("aubmindlab/bert-base-arabertv02", {})[1] == "aubmindlab/bert-base-arabertv02"
    assert _base_model(str(tmp_path), {})[1] is None  # a local folder is never Hub metadata
    record = {"config": {"model": {"name_or_path": "scratch", "layers": 4, "hidden_size": 256}},
              "metrics": {"heldout_perplexity": 918.4}}
    text, hub = _base_model(str(tmp_path), record)
    assert hub is None and "4 layers, hidden 256" in text and "918.4" in text
