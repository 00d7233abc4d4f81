"""Human review in Label Studio: the sentences worth checking go out as tasks, the verdicts come
back as a gold file.

Export: `export_tasks` reads predict.py's output (model labels and scores) or build_dataset's
sentences.jsonl (weak labels), picks sentences (`uncertain`: scores nearest their threshold;
`disagreement`: model and rules differ, model most confident first; `random`: a seeded sample,
for unbiased estimates; `all`), and writes Label Studio's task JSON (text right to left, document
and sentence ids, the labels as a pre-annotation) with the labeling config beside it.
Import: `import_gold` reads Label Studio's JSON export, skips cancelled annotations, reports
tasks nobody annotated, resolves several annotators by a majority per label (a tie keeps the
label out and says so in `note`), and writes gold rows (doc_id, sent_id, text, labels, note,
annotators) that evaluate_model.py and build_dataset's `data.gold_files` read as they are.
"""

from __future__ import annotations

import html
import json
import logging
from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np

from training.errors import UserError
from training.labels import LABELS

logger = logging.getLogger(__name__)
NONE = "none"
CHOICES = [*LABELS, NONE]
FROM_NAME, TO_NAME = "labels", "text"  # the names the labeling config gives its choices and its text
SELECTIONS = ("uncertain", "disagreement", "random", "all")


def labeling_config() -> str:
    """The Label Studio labeling config: the sentence right to left, several of the three labels or none."""
    hints = {"attack": "هجوم: a violent or hostile act, carried out, attempted or intercepted",
             "casualty": "ضحايا: people killed, wounded or injured by violence, or their number or condition",
             "withdrawal_talks": "محادثات الانسحاب: withdrawal or drawdown of foreign or coalition forces",
             NONE: "لا شيء: none of the three"}
    choices = "\n".join(f'    <Choice value="{c}" hint="{html.escape(hints[c])}"/>' for c in CHOICES)
    return f"""<View>
  <Header value="Which events does this sentence report? / ما الأحداث التي تذكرها هذه الجملة؟"/>
  <View style="direction: rtl; text-align: right; font-size: 1.3em; line-height: 1.8">
    <Text name="{TO_NAME}" value="$text"/>
  </View>
  <Text name="source" value="$source"/>
  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="multiple" showInline="true" required="true">
{choices}
  </Choices>
</View>
"""


def instructions() -> str:
    """The annotation guidelines (resources/LABELS.md and its Arabic version) as HTML."""
    parts = []
    for name, direction in (("LABELS.ar.md", "rtl"), ("LABELS.md", "ltr")):
        text = resources.files("training").joinpath("resources", name).read_text("utf-8")
        parts.append(f'<div dir="{direction}">{_markdown_html(text)}</div>')
    return "<hr/>".join(parts)


def _markdown_html(text: str) -> str:
    """Just enough Markdown for the guidelines: headings, paragraphs, table rows as lines."""
    out = []
    for block in text.strip().split("\n\n"):
        if block.startswith("#"):
            level = min(len(block) - len(block.lstrip("#")) + 2, 6)
            out.append(f"<h{level}>{html.escape(block.lstrip('#').strip())}</h{level}>")
        else:
            lines = [html.escape(line.strip("| ").replace(" | ", " — ")) for line in block.splitlines()
                     if not set(line) <= set("|- ")]
            out.append("<p>" + "<br/>".join(lines) + "</p>")
    return "\n".join(out)


def read_rows(path: str | Path) -> tuple[list[dict], str]:
    """Rows of predict.py's output ("model") or of build_dataset's sentences.jsonl ("rules")."""
    from training.serving.batch_predict import read_prediction_rows

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        rows = list(read_prediction_rows(path))
    except (ValueError, KeyError) as err:
        raise UserError(f"{path}: not predict.py output or a sentences.jsonl ({type(err).__name__}: {err})") from None
    if not rows:
        raise UserError(f"{path}: no rows")
    kind = "model" if "scores" in rows[0] else "rules" if "probs" in rows[0] else None
    if kind is None:
        raise UserError(f"{path}: rows have neither 'scores' (predict.py output) nor 'probs' (build_dataset's "
                        f"sentences.jsonl)")
    for number, row in enumerate(rows, 1):
        if not isinstance(row.get("text"), str) or not row["text"].strip():
            raise UserError(f"{path}: row {number} has no text")
    return rows, kind


def _score_matrix(rows: list[dict], kind: str) -> np.ndarray:
    key = "scores" if kind == "model" else "probs"
    return np.array([[float(row[key][label]) for label in LABELS] for row in rows])


def select(rows: list[dict], kind: str, how: str, n: int | None, seed: int, thresholds: np.ndarray) -> list[int]:
    """Indices of the rows to review, in review order (see module docstring)."""
    if how == "all":
        order = list(range(len(rows)))
    elif how == "random":
        rng = np.random.default_rng(seed)
        order = sorted(rng.choice(len(rows), size=min(n or len(rows), len(rows)), replace=False).tolist())
    elif how == "uncertain":
        distance = np.abs(_score_matrix(rows, kind) - thresholds).min(axis=1)
        order = np.argsort(distance, kind="stable").tolist()
    elif how == "disagreement":
        order = _disagreement_order(rows, kind, thresholds)
    else:
        raise UserError(f"--select must be one of {', '.join(SELECTIONS)}")
    return order[:n] if n else order


def _disagreement_order(rows: list[dict], kind: str, thresholds: np.ndarray) -> list[int]:
    from training.analysis.disagreements import model_confidence, rules_answers

    if kind != "model":
        raise UserError("--select disagreement needs the model's predictions (predict.py output); a "
                        "sentences.jsonl holds only the rules' labels")
    scores = _score_matrix(rows, kind)
    rules, _ = rules_answers([row["text"] for row in rows])
    disputed = (scores >= thresholds) != (rules >= 0.5)
    confidence = model_confidence(scores, thresholds, disputed)
    candidates = np.flatnonzero(disputed.any(axis=1))
    return candidates[np.argsort(-confidence[candidates], kind="stable")].tolist()


def task(row: dict, kind: str, model_version: str) -> dict:
    """One Label Studio task: the sentence, its ids, and its labels as a pre-annotation."""
    labels = [label for label in LABELS if label in row.get("labels", [])]
    scores = row["scores"] if kind == "model" else row["probs"]
    confidence = float(np.mean([float(scores[label]) for label in labels])) if labels else \
        1 - max(float(scores[label]) for label in LABELS)
    doc_id, sent_id = str(row.get("doc_id", "")), row.get("sent_id", "")
    return {"data": {"text": row["text"], "doc_id": doc_id, "sent_id": sent_id, "source": f"{doc_id} #{sent_id}"},
            "predictions": [{"model_version": model_version, "score": round(confidence, 4),
                             "result": [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
                                         "value": {"choices": labels or [NONE]}}]}]}


def verdict(annotation: dict, where: str) -> set[str]:
    """The labels one annotation chose; an annotation from another labeling config is an error."""
    chosen: set[str] = set()
    for result in annotation.get("result", []):
        if result.get("from_name") != FROM_NAME or result.get("type") != "choices":
            raise UserError(f"{where}: an answer {result.get('type')!r} named {result.get('from_name')!r}; this "
                            f"export is from another labeling config (expected choices named {FROM_NAME!r})")
        chosen |= set(result.get("value", {}).get("choices", []))
    unknown = sorted(chosen - set(CHOICES))
    if unknown:
        raise UserError(f"{where}: unknown label(s) {unknown}; expected some of {CHOICES}")
    return chosen - {NONE}


def resolve(task_export: dict, where: str) -> dict | None:
    """The gold row of one exported task (majority per label), or None if nobody annotated it."""
    data = task_export.get("data") or {}
    if not isinstance(data.get("text"), str) or not data["text"].strip():
        raise UserError(f"{where}: the task has no text")
    done = [a for a in task_export.get("annotations", []) if not a.get("was_cancelled")]
    if not done:
        return None
    votes = [verdict(a, where) for a in done]
    counts = Counter(label for labels in votes for label in labels)
    labels = [label for label in LABELS if 2 * counts[label] > len(votes)]
    ties = [f"{label} ({counts[label]} of {len(votes)})" for label in LABELS if 2 * counts[label] == len(votes)]
    note = f"annotators tied on {', '.join(ties)}: left out" if ties else ""
    return {"doc_id": data.get("doc_id"), "sent_id": data.get("sent_id"), "text": data["text"], "labels": labels,
            "note": note, "annotators": [_annotator(a) for a in done]}


def _annotator(annotation: dict):
    who = annotation.get("completed_by")
    return who.get("email", who.get("id")) if isinstance(who, dict) else who


def gold_from_export(tasks, source: str) -> tuple[list[dict], list]:
    """(gold rows, ids of tasks nobody annotated) of a Label Studio JSON export."""
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise UserError(f"{source}: not a Label Studio JSON export (expected a list of tasks)")
    rows, missing = [], []
    for number, item in enumerate(tasks, 1):
        row = resolve(item, f"{source}: task {item.get('id', number)}")
        if row is None:
            missing.append(item.get("id", number))
        else:
            rows.append(row)
    return rows, missing


def load_export(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        return json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not JSON ({err})") from None


def _thresholds(model_dir: str | None, kind: str) -> np.ndarray:
    """The model's per-label thresholds (0.5 without a model folder, and for the rules' probabilities)."""
    if not model_dir or kind == "rules":
        return np.full(len(LABELS), 0.5)
    config_file = Path(model_dir) / "config.json"
    try:
        saved = json.loads(config_file.read_text("utf-8")).get("thresholds") or {}
    except (OSError, ValueError) as err:
        raise UserError(f"{config_file}: cannot read the model's thresholds ({err})") from None
    return np.array([float(saved.get(label, 0.5)) for label in LABELS])


def _first_line_json(path: Path):
    try:
        with path.open(encoding="utf-8") as fh:
            return json.loads(fh.readline())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _is_tasks_file(path: Path) -> bool:
    try:
        tasks = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(tasks, list) and (not tasks or isinstance(tasks[0], dict) and "data" in tasks[0])


def _is_label_config(path: Path) -> bool:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return text.startswith("<View>") and f'name="{FROM_NAME}"' in text


def _is_gold_file(path: Path) -> bool:
    first = _first_line_json(path)
    return isinstance(first, dict) and "annotators" in first


def label_config_path(tasks_path: Path) -> Path:
    """`tasks.json` -> `tasks.label_config.xml`, beside it."""
    return tasks_path.with_name(tasks_path.name.rsplit(".", 1)[0] + ".label_config.xml")


def export_tasks(input_path: str, output: str | Path, how: str = "uncertain", n: int | None = None, seed: int = 42,
                 model_dir: str | None = None, server: tuple[str, str, str] | None = None,
                 overwrite: bool = False) -> int:
    """Write the review tasks and the labeling config; with `server` (url, key, project), also create
    or update that project and import the tasks there. Returns the number of tasks."""
    from training.io_utils import atomic_write_json, atomic_write_text
    from training.outputs import check_output

    output = Path(output)
    inputs = [input_path, model_dir]
    check_output(output, "review", inputs, overwrite, folder=False, is_own=_is_tasks_file)
    check_output(label_config_path(output), "review", inputs, overwrite, folder=False, is_own=_is_label_config)
    rows, kind = read_rows(input_path)
    order = select(rows, kind, how, n, seed, _thresholds(model_dir, kind))
    version = Path(model_dir).name if model_dir else "rules" if kind == "rules" else Path(input_path).stem
    tasks = [task(rows[i], kind, version) for i in order]
    client = _client(server)  # a wrong URL or key fails here, before anything is written
    if client is not None:  # the server's refusal, too, comes before any file is written
        project = client.upsert_project(server[2], labeling_config(), instructions())
        logger.info("imported %d tasks into project %r", client.import_tasks(project, tasks), server[2])
    atomic_write_json(output, tasks)
    atomic_write_text(label_config_path(output), labeling_config())
    logger.info("%d tasks (%s) -> %s, labeling config -> %s", len(tasks), how, output, label_config_path(output))
    return len(tasks)


def _client(server):
    if server is None:
        return None
    from training.review.label_studio import LabelStudio

    return LabelStudio(server[0], server[1])


def import_gold(input_path: str | None, output: str | Path, server: tuple[str, str, str] | None = None,
                overwrite: bool = False) -> int:
    """Turn a Label Studio JSON export (a file, or pulled from `server`) into a gold file; returns its rows."""
    from training.io_utils import atomic_write_text
    from training.outputs import check_output

    output = Path(output)
    check_output(output, "review", [input_path], overwrite, folder=False, is_own=_is_gold_file)
    if server is not None:
        tasks, source = _client(server).export(server[2]), f"{server[0]} project {server[2]!r}"
    else:
        tasks, source = load_export(input_path), str(input_path)
    rows, missing = gold_from_export(tasks, source)
    if missing:
        logger.warning("%s: %d of %d tasks have no annotation and are left out (ids %s%s)", source, len(missing),
                       len(tasks), ", ".join(map(str, missing[:10])), ", ..." if len(missing) > 10 else "")
    if not rows:
        raise UserError(f"{source}: no task has an annotation; nothing to import")
    atomic_write_text(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    ties = sum(1 for r in rows if r["note"])
    logger.info("%d gold sentences (%d with an annotator tie) -> %s", len(rows), ties, output)
    return len(rows)
