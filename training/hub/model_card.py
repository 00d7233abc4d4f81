"""The Hub model card: rendered from the Jinja template `model_card.md` with huggingface_hub.

`write_card(model_dir, repo_id=None)` reads what the model folder holds (config.json,
training_config.yaml, metrics.json, lf_report.json, gold_eval.json) and writes README.md.
`validate_card(path)` checks it locally: the YAML metadata parses, the model-index has
results, every section has content, and no template placeholder is left.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from training.errors import UserError
from training.io_utils import atomic_write_text, hub_id_problem
from training.labels import LABELS
from training.metrics import SCORE_COLUMNS, markdown_table, per_label_rows
from training.weak.labeling import LABELING_FUNCTIONS

# The Hub card template. Its one copy is model_card.md at the repository root, where readers look;
# training/resources/model_card.md links to it so that it ships as package data and a plain
# (non-editable) `pip install .` can still write cards.
TEMPLATE = Path(__file__).resolve().parents[1] / "resources" / "model_card.md"
TAGS = ["arabic", "event-classification", "multi-label", "weak-supervision", "news"]
WIDGET = ["وقيل إن الهجوم أسفر عن مقتل 15 من متطرفي تنظيم الدولة الإسلامية",
          "وتطالب الفصائل العراقية المسلحة الموالية لإيران بانسحاب هذه القوات",
          "ويوجد ما يقرب من 2500 جندي أمريكي في العراق ونحو 900 جندي في سوريا"]
REQUIRED_SECTIONS = ["What it does", "Labels", "How the training labels were made", "Training data", "Evaluation",
                     "Usage", "Intended use, limitations and risks", "Citation"]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


def _lf_summary(report: dict) -> str:
    if not report:
        return "No labeling report was found in the model folder."
    rows = [[label, f"{100 * v['coverage']:.1f}%", v["positives"]] for label, v in report["labels"].items()]
    text = markdown_table(["label", "rule coverage", "sentences labelled"], rows)
    gold = report.get("gold")
    if gold:
        m = gold["models"][report["label_model"]]
        text += (f"\n\nThe aggregated rule labels against the hand-labelled `{gold['file']}` "
                 f"({gold['sentences']} sentences), macro F1 {m['macro_f1']:.3f}:\n\n"
                 + markdown_table(SCORE_COLUMNS, per_label_rows(m["per_label"])))
    return text


def _data_summary(report: dict) -> str:
    if not report:
        return "No dataset report was found in the model folder."
    splits = report.get("splits", {})
    rows = [[s, splits["documents"][s], n] for s, n in splits.get("sentences", {}).items()]
    dist = ", ".join(f"{k} {v}" for k, v in report["distribution"].items())
    return (markdown_table(["split", "documents", "sentences"], rows) +
            f"\n\nWeak-label counts over all {report['sentences']} sentences: {dist}. Splits are by document: "
            "no article is in two splits.")


def _evaluation(metrics: dict, gold_eval: dict, gold_name: str) -> str:
    parts = []
    val = metrics.get("validation")
    if val:
        parts.append(f"On the validation split (weak labels), macro F1 {val['macro_f1']:.3f}:\n\n"
                     + markdown_table(SCORE_COLUMNS, per_label_rows(val["per_label"])))
    if gold_eval:
        rows = [[label, f"{gold_eval['model']['per_label'][label]['f1']:.3f}",
                 f"{gold_eval['rules']['per_label'][label]['f1']:.3f}", gold_eval["model"]["per_label"][label]["support"]]
                for label in LABELS]
        rows.append(["**macro F1**", f"**{gold_eval['model']['macro_f1']:.3f}**", f"**{gold_eval['rules']['macro_f1']:.3f}**", ""])
        parts.append(f"On the hand-labelled gold set ({gold_name}, {gold_eval['model']['sentences']} sentences), "
                     "model vs the rules that labelled its training data:\n\n" + markdown_table(["label", "model F1", "rules F1", "support"], rows))
    return "\n\n".join(parts) or "No evaluation results were found in the model folder."


def _base_model(base: str, pretraining: dict) -> tuple[str, str | None]:
    """(how the card names the base model, its Hub id for the metadata or None). A local folder
    is never a Hub id; an encoder pretrained here is described by its pretraining record."""
    if base == "tiny":
        return "a small BERT trained from scratch (the offline `tiny` config; a test model, not for use)", None
    if pretraining:
        model, figures = pretraining.get("config", {}).get("model", {}), pretraining.get("metrics", {})
        origin = model.get("name_or_path", "scratch")
        hub = origin if origin != "scratch" and hub_id_problem(origin) is None and not Path(origin).exists() else None
        start = "from scratch, with a WordPiece vocabulary trained on that corpus" if origin == "scratch" else \
            f"continued from `{origin}`"
        return (f"a BERT encoder ({model.get('layers', '?')} layers, hidden {model.get('hidden_size', '?')}) "
                f"pretrained by masked language modelling on unlabelled news ({start}; held-out perplexity "
                f"{figures.get('heldout_perplexity', float('nan')):.1f})", hub)
    if hub_id_problem(base) is None and not Path(base).exists():
        return f"[`{base}`](https://huggingface.co/{base})", base
    return f"`{base}`", None


def _pipeline_code(model_ref: str, preprocessing: dict, thresholds: dict) -> str:
    lines = ["from transformers import pipeline", ""]
    if preprocessing.get("type") == "arabert":
        lines = ["from arabert.preprocess import ArabertPreprocessor", *lines,
                 f'prep = ArabertPreprocessor(model_name="{preprocessing["model_name"]}").preprocess']
    else:
        lines.append("prep = lambda text: text  # this model was trained without preprocessing")
    lines += [f'clf = pipeline("text-classification", model="{model_ref}", top_k=None)',
              f"thresholds = {json.dumps(thresholds)}",
              f'sentences = ["{WIDGET[0]}"]',
              "for scores in clf([prep(s) for s in sentences]):",
              '    print([s["label"] for s in scores if s["score"] >= thresholds[s["label"]]])']
    return "\n".join(lines)


def render_card(model_dir: str | Path, repo_id: str | None = None, local_path: str | None = None):
    """Build the ModelCard for a model folder (not written).

    The usage code refers to `repo_id` when given, else to `local_path` (default: the folder).
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    model_dir = Path(model_dir)
    config = _read_json(model_dir / "config.json")
    if not config:
        raise UserError(f"{model_dir}: no config.json; not a model folder")
    training = yaml.safe_load((model_dir / "training_config.yaml").read_text("utf-8")) \
        if (model_dir / "training_config.yaml").is_file() else {}
    metrics, report = _read_json(model_dir / "metrics.json"), _read_json(model_dir / "lf_report.json")
    gold_eval = _read_json(model_dir / "gold_eval.json")
    base = (training.get("model") or {}).get("name_or_path", "unknown")
    gold_name = (training.get("card") or {}).get("gold_name", "gold")
    thresholds = config.get("thresholds") or {label: 0.5 for label in LABELS}
    model_ref = repo_id or local_path or str(model_dir)
    eval_results = []
    if gold_eval:
        for label in LABELS:
            eval_results.append(EvalResult(task_type="text-classification", dataset_type="gold", dataset_name=gold_name,
                                           metric_type="f1", metric_name=f"F1 ({label})",
                                           metric_value=round(gold_eval["model"]["per_label"][label]["f1"], 4)))
        eval_results.append(EvalResult(task_type="text-classification", dataset_type="gold", dataset_name=gold_name,
                                       metric_type="f1", metric_name="macro F1", metric_value=round(gold_eval["model"]["macro_f1"], 4)))
    pretraining = _read_json(model_dir / "pretraining.json")
    base_text, hub_base = _base_model(base, pretraining)
    model_name = Path(model_ref).name
    card_data = ModelCardData(
        language="ar", license=(training.get("card") or {}).get("license", "apache-2.0"), library_name="transformers",
        pipeline_tag="text-classification", base_model=hub_base, tags=TAGS, metrics=["f1"],
        model_name=model_name, eval_results=eval_results or None, widget=[{"text": t} for t in WIDGET])
    return ModelCard.from_template(
        card_data, template_path=str(TEMPLATE), model_name=model_name, base_model_text=base_text,
        n_functions=len(LABELING_FUNCTIONS), label_model=report.get("label_model", "majority"),
        target_kind="the label model's probabilities as soft targets" if (training.get("training") or {}).get("soft_targets", True)
        else "0/1 labels", lf_summary=_lf_summary(report), data_summary=_data_summary(report),
        hyperparameters=markdown_table(["setting", "value"], [[k, v] for k, v in (training.get("training") or {}).items()]),
        thresholds_text=", ".join(f"`{k}` {v:.2f}" for k, v in thresholds.items()),
        evaluation=_evaluation(metrics, gold_eval, gold_name),
        pipeline_code=_pipeline_code(model_ref, config.get("preprocessing") or {"type": "none"}, thresholds),
        model_ref=model_ref, example_sentence=WIDGET[1], cite_arabert="arabert" in (hub_base or "").lower())


def write_card(model_dir: str | Path, repo_id: str | None = None, local_path: str | None = None) -> Path:
    """Render the card into the model folder's README.md and validate it."""
    card = render_card(model_dir, repo_id, local_path)
    path = Path(model_dir) / "README.md"
    atomic_write_text(path, str(card))
    validate_card(path)
    return path


def validate_card(path: str | Path) -> dict:
    """Check a rendered card without the network; return its metadata. Raises UserError."""
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    text = Path(path).read_text("utf-8")
    leftovers = re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text)
    if leftovers:
        raise UserError(f"{path}: template placeholders left: {leftovers[:3]}")
    card = ModelCard(text)
    data = card.data.to_dict()
    for key in ("language", "license", "library_name", "pipeline_tag", "tags"):
        if not data.get(key):
            raise UserError(f"{path}: card metadata has no {key!r}")
    if "model-index" in data:
        model_index_to_eval_results(data["model-index"])  # raises on a malformed index
    for section in REQUIRED_SECTIONS:
        match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", card.text, flags=re.S | re.M)
        if not match or not match.group(1).strip():
            raise UserError(f"{path}: section {section!r} is missing or empty")
    return data
