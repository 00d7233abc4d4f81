"""Where the benchmark scripts find the ANT news corpus in a development checkout: the file
$EVENTS_NEWS_CORPUS names, else ../shared/data beside the repository (see README, "Data")."""

import os
from pathlib import Path

ANT_POLITICS = Path(os.environ.get("EVENTS_NEWS_CORPUS")
                    or Path(__file__).resolve().parents[2] / "shared" / "data" / "ant_news_politics.jsonl.gz")
