"""Publishing a model folder to the Hugging Face Hub, or staging exactly that upload locally.

Only what inference and readers need is uploaded: weights (safetensors), config, tokenizer
files, the card, the resolved training config, the labeling report and the metrics. Never
checkpoints, optimizer/scheduler/RNG state or trainer state. The upload is one commit.
"""

from __future__ import annotations

import logging
import shutil
from fnmatch import fnmatch
from pathlib import Path

from training.errors import UserError
from training.io_utils import first_line, hub_id_problem
from training.hub.model_card import validate_card, write_card
from training.model.model_folder import check_model_folder, check_vocabulary
from training.outputs import output_folder

logger = logging.getLogger(__name__)

UPLOAD_PATTERNS = ["*.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json", "sentencepiece.bpe.model",
                   "README.md", "training_config.yaml", "lf_report.md", "lf_report.json", "metrics.json",
                   "gold_eval.json", "pretraining.json"]
NEVER = ["checkpoint-*", "optimizer.pt", "scheduler.pt", "rng_state*", "trainer_state.json", "training_args.bin",
         "*.bin", "*.pt", "*.pth"]
def _is_staged_upload(folder: Path) -> bool:
    """An earlier dry run: a folder of allow-listed files only (it holds no marker: it is the upload set)."""
    files = list(folder.iterdir())
    return bool(files) and all(p.is_file() and any(fnmatch(p.name, pat) for pat in UPLOAD_PATTERNS) for p in files)


def check_repo_id(repo_id: str) -> None:
    problem = hub_id_problem(repo_id)
    if problem:
        raise UserError(f"repo id {repo_id!r} is not valid on the Hub: {problem}")


def files_to_upload(model_dir: Path) -> list[Path]:
    """The allow-listed files of a model folder (top level only: checkpoints live in subfolders)."""
    if not model_dir.is_dir():
        raise UserError(f"{model_dir}: no such model folder")
    check_model_folder(model_dir)
    files = [p for p in sorted(model_dir.iterdir()) if p.is_file()
             and any(fnmatch(p.name, pat) for pat in UPLOAD_PATTERNS) and not any(fnmatch(p.name, n) for n in NEVER)]
    if not any(p.suffix == ".safetensors" for p in files):
        raise UserError(f"{model_dir}: no .safetensors weights to publish")
    return files


def stage(model_dir: str | Path, target: Path, repo_id: str) -> list[str]:
    """Copy the upload set into `target`, render the card for `repo_id`, and validate both."""
    model_dir = Path(model_dir)
    names = []
    for src in files_to_upload(model_dir):
        shutil.copy2(src, target / src.name)
        names.append(src.name)
    write_card(target, repo_id=repo_id)
    if "README.md" not in names:
        names.append("README.md")
    validate_card(target / "README.md")
    _check_loads(target, model_dir)
    return sorted(names)


def _check_loads(folder: Path, model_dir: Path) -> None:
    """The staged copy of `model_dir` must load with plain transformers.pipeline and score every label.

    Errors name `model_dir`: the staging folder is temporary and gone by the time the user reads them.
    """
    from transformers import pipeline

    try:
        clf = pipeline("text-classification", model=str(folder), top_k=None, device="cpu")
        out = clf(["اختبار التحميل"])
    except Exception as err:  # noqa: BLE001 - any load failure means the folder is not publishable
        reason = first_line(err, 1000).replace(str(folder), str(model_dir))[:200]
        raise UserError(f"{model_dir}: does not load with transformers.pipeline ({type(err).__name__}: {reason})") from None
    check_vocabulary(model_dir, clf.tokenizer, clf.model.config.to_dict())
    if not out or len(out[0]) != len(clf.model.config.id2label):
        raise UserError(f"{model_dir}: pipeline output does not cover every label")


def dry_run(model_dir: str, out_dir: str, repo_id: str, overwrite: bool = False) -> list[str]:
    """Write exactly what would be uploaded to `out_dir` (atomically) and validate it. No network."""
    check_repo_id(repo_id)
    with output_folder(out_dir, "publish", [model_dir], overwrite, is_own=_is_staged_upload) as tmp:
        names = stage(model_dir, tmp, repo_id)
    logger.info("dry run: %d files staged in %s: %s", len(names), out_dir, ", ".join(names))
    return names


def _token() -> str:
    from huggingface_hub import get_token

    token = get_token()  # HF_TOKEN, then the cached `hf auth login`
    if not token:
        raise UserError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a write token)")
    return token


def publish(model_dir: str, repo_id: str, private: bool = False, revision: str | None = None,
            commit_message: str = "Upload Arabic event classifier", create_pr: bool = False, api=None) -> str:
    """Create the repo if missing and upload the staged folder as one commit; returns the commit URL."""
    import tempfile

    from huggingface_hub import HfApi

    check_repo_id(repo_id)
    api = api or HfApi(token=_token())
    with tempfile.TemporaryDirectory() as tmp:
        names = stage(model_dir, Path(tmp), repo_id)  # validate everything before touching the network
        try:
            api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
            if revision and not create_pr:
                api.create_branch(repo_id=repo_id, branch=revision, exist_ok=True)
            info = api.upload_folder(repo_id=repo_id, folder_path=tmp, repo_type="model", revision=revision,
                                     commit_message=commit_message, create_pr=create_pr)
        except Exception as err:  # noqa: BLE001 - translated into one line below
            raise UserError(_explain_hub_error(err, repo_id)) from None
    logger.info("uploaded %d files to %s: %s", len(names), repo_id, getattr(info, "commit_url", info))
    return str(getattr(info, "commit_url", info))


def _explain_hub_error(err: Exception, repo_id: str) -> str:
    status = getattr(getattr(err, "response", None), "status_code", None)
    if status in (401, 403):
        return f"no write access to {repo_id} (HTTP {status}): use a token with write permission for this owner"
    if status is not None:
        return f"the Hub refused the upload to {repo_id} (HTTP {status}): {first_line(err, None)}"
    return f"cannot reach the Hugging Face Hub ({type(err).__name__}: {first_line(err)}); nothing was uploaded"
