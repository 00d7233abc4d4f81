"""A small client for a running Label Studio's REST API: find or create a project, import
tasks, export annotations.

It speaks the documented HTTP API with `requests` rather than through label-studio-sdk: the SDK
pins numpy < 2.3 and pulls opencv, nltk and black into the training environment, for four calls.
Both kinds of key work: a legacy token ("Token KEY") and a personal access token (a JWT refresh
token, exchanged for an access token at /api/token/refresh, as the SDK does).
"""

from __future__ import annotations

import logging

from training.errors import UserError
from training.io_utils import first_line

logger = logging.getLogger(__name__)
TIMEOUT = 60  # seconds per request; an import of many thousands of tasks takes a while


class LabelStudio:
    """A session on one Label Studio server, checked at construction (URL reachable, key accepted)."""

    def __init__(self, url: str, api_key: str):
        import requests

        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = self._authorization(api_key)
        self._request("GET", "/api/current-user/whoami")

    def _authorization(self, api_key: str) -> str:
        if api_key.count(".") != 2:  # a legacy token; personal access tokens are JWTs
            return f"Token {api_key}"
        access = self._request("POST", "/api/token/refresh", json={"refresh": api_key}, auth=False)
        return f"Bearer {access['access']}"

    def _request(self, method: str, path: str, auth: bool = True, **kwargs):
        import requests

        try:
            send = self.session.request if auth else requests.request
            response = send(method, self.url + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as err:
            raise UserError(f"{self.url}: Label Studio cannot be reached ({first_line(err)}); is it running "
                            f"there? (label-studio start --port PORT)") from None
        if response.status_code in (401, 403):
            raise UserError(f"{self.url}: Label Studio refused the API key (HTTP {response.status_code}); copy it "
                            f"from Account & Settings in Label Studio")
        if not response.ok:
            raise UserError(f"{self.url}{path}: Label Studio answered HTTP {response.status_code}: "
                            f"{first_line(Exception(response.text)) or response.reason}")
        try:
            return response.json() if response.content else None
        except ValueError:
            raise UserError(f"{self.url}: the answer to {path} is not JSON; is this the address of Label "
                            f"Studio?") from None

    def find_project(self, title: str) -> dict | None:
        """The project with this exact title, or None."""
        page = 1
        while True:
            answer = self._request("GET", "/api/projects", params={"page": page, "page_size": 100, "title": title})
            projects = answer["results"] if isinstance(answer, dict) else answer
            for project in projects:
                if project.get("title") == title:
                    return project
            if not isinstance(answer, dict) or not answer.get("next"):
                return None
            page += 1

    def upsert_project(self, title: str, label_config: str, instructions: str) -> int:
        """Create the project, or update its labeling config and instructions; return its id."""
        fields = {"label_config": label_config, "expert_instruction": instructions, "show_instruction": True}
        project = self.find_project(title)
        if project is None:
            created = self._request("POST", "/api/projects", json={"title": title, **fields})
            logger.info("created Label Studio project %r (id %s)", title, created["id"])
            return created["id"]
        self._request("PATCH", f"/api/projects/{project['id']}", json=fields)
        logger.info("updated Label Studio project %r (id %s)", title, project["id"])
        return project["id"]

    def import_tasks(self, project_id: int, tasks: list[dict]) -> int:
        answer = self._request("POST", f"/api/projects/{project_id}/import", json=tasks)
        return int((answer or {}).get("task_count", len(tasks)))

    def export(self, title: str) -> list[dict]:
        """The project's tasks with their annotations, as Label Studio's JSON export."""
        project = self.find_project(title)
        if project is None:
            raise UserError(f"{self.url}: no Label Studio project named {title!r}")
        # every task, the unannotated ones included, so that the import can report them
        return self._request("GET", f"/api/projects/{project['id']}/export",
                             params={"exportType": "JSON", "download_all_tasks": "true"})
